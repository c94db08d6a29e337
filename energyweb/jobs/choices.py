from django.db import models


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def active(cls) -> tuple[str, str]:
        return (cls.PENDING, cls.RUNNING)

    @classmethod
    def final(cls) -> tuple[str, str, str]:
        return (cls.SUCCEEDED, cls.FAILED, cls.CANCELLED)
