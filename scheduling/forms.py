from django import forms
from django.conf import settings

from profiling.choices import FitTarget
from profiling.models import EnergyModelFit
from scheduling.models import Deployment, Workload
from scheduling.planner import objective_registry
from scheduling.services.generator import DEFAULT_TIN, DEFAULT_TOUT, MAX_QUERIES, MAX_SEED


class WorkloadUploadForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(help_text="CSV or CSV.gz with input and output token counts per query.")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Workload.objects.filter(name=name).exists():
            raise forms.ValidationError("A workload with this name exists already.")
        return name

    def clean_file(self):
        f = self.cleaned_data["file"]
        limit = int(settings.MAX_UPLOAD_MB)
        if f.size > limit * 1024 * 1024:
            raise forms.ValidationError(
                f"The file is {f.size / 1048576:.1f} MB, above the upload limit of {limit} MB; "
                "compress it with gzip or split it.")
        return f


class WorkloadGenerateForm(forms.Form):
    name = forms.CharField(max_length=200)
    n = forms.IntegerField(label="Queries", min_value=1, max_value=MAX_QUERIES, initial=10000)
    tin = forms.CharField(label="Input tokens distribution", initial=DEFAULT_TIN,
                          help_text="lognormal:mu=..,sigma=.. · uniform:low=..,high=.. · zipf:a=.. · "
                                    "poisson:lam=.. · constant:value=.. · resample:&lt;workload&gt;")
    tout = forms.CharField(label="Output tokens distribution", initial=DEFAULT_TOUT)
    seed = forms.IntegerField(initial=0, min_value=0, max_value=MAX_SEED)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Workload.objects.filter(name=name).exists():
            raise forms.ValidationError("A workload with this name exists already.")
        return name


class DeploymentForm(forms.ModelForm):
    class Meta:
        model = Deployment
        fields = ["llm", "hardware", "energy_fit_choice", "energy_fit", "runtime_fit_choice", "runtime_fit",
                  "min_share", "max_share", "instances", "gpus_per_instance", "horizon_s", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        labels = {"llm": "LLM", "gpus_per_instance": "GPUs per instance", "energy_fit": "Energy fit (specific)",
                  "runtime_fit": "Runtime fit (specific)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fits = EnergyModelFit.objects.select_related("llm", "hardware")
        self.fields["energy_fit"].queryset = fits.filter(target=FitTarget.ENERGY)
        self.fields["runtime_fit"].queryset = fits.filter(target=FitTarget.RUNTIME)


class PlanForm(forms.Form):
    workload = forms.ModelChoiceField(queryset=Workload.objects.all())
    deployments = forms.ModelMultipleChoiceField(
        queryset=Deployment.objects.select_related("llm", "hardware"),
        widget=forms.CheckboxSelectMultiple, required=False)
    add_reference = forms.BooleanField(
        required=False, label="Also add the reference deployments (every LLM with selected fitted "
                              "energy and runtime models, on its hardware)")
    objective = forms.ChoiceField(choices=objective_registry.choices,
                                  initial=objective_registry.PAPER_ENERGY_ACCURACY.name)
    zeta = forms.FloatField(min_value=0, max_value=1, initial=0.5,
                            help_text="Weight of energy against accuracy (or runtime): 1 = energy only.")
    sweep = forms.BooleanField(required=False, initial=True,
                               label="Sweep zeta = 0, 0.1, ..., 1 (Pareto frontier)")
    accuracy_target = forms.FloatField(required=False, min_value=0, max_value=100,
                                       label="Accuracy target (%)")
    energy_budget_j = forms.FloatField(required=False, min_value=0, label="Energy budget (J)")
    deadline_s = forms.FloatField(required=False, min_value=0, label="Deadline (s)")
    time_limit_s = forms.FloatField(min_value=1, max_value=3600, initial=60, label="Solver time limit (s)")
    seed = forms.IntegerField(initial=0, min_value=0, max_value=MAX_SEED, help_text="For the random baseline.")
    allow_clamping = forms.BooleanField(
        required=False, label="Allow clamping (not recommended)",
        help_text="Plan even when a model predicts zero or negative energy or runtime for some queries: "
                  "they are clamped to zero and count as free, which overstates the savings.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deployments"].label_from_instance = lambda d: (
            f"{d.key} · shares {d.min_share:g}–{d.max_share:g} · energy {d.energy_fit_choice}"
            + (f" · capacity {d.capacity_gpu_s:,.0f} GPU-s" if d.capacity_gpu_s else ""))

    def clean(self):
        data = super().clean()
        if not data.get("deployments") and not data.get("add_reference"):
            self.add_error("deployments", "Choose at least one deployment, or add the reference deployments.")
        return data

    def parameters(self) -> dict:
        d = self.cleaned_data
        return {"zeta": d["zeta"], "sweep": d.get("sweep", False), "accuracy_target": d.get("accuracy_target"),
                "energy_budget_j": d.get("energy_budget_j"), "deadline_s": d.get("deadline_s"),
                "time_limit_s": d.get("time_limit_s") or 60, "seed": d.get("seed") or 0,
                "allow_clamping": bool(d.get("allow_clamping"))}
