"""One job lifecycle for every long job (plans, profiling runs, executions, imports).

The database row is the truth; a broker message is only a wake-up call. See
``service.py`` for claim / renew / progress / finish / fail / cancel and
``recovery.py`` for the takeover of jobs whose worker was lost, ``registry.py`` for the job kinds
(each app registers its own from ``AppConfig.ready()``; the Celery task is named from the model
label) and ``usecases.py`` for the cancel every page and API view shares.
"""
