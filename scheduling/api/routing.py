"""Routing API (issue 19): policies, routing one query or a batch, replay and feedback.

Every bad input is answered 400 keyed by its field (``policy``, ``input_tokens``,
``queries[3].max_tokens`` ...), never a 500: the service raises RoutingError naming it.

``POST /api/v1/route`` has a lean path (RouteView.dispatch): a well-formed request with a
token the process already trusts (energyweb/api/token_cache.py) for a policy it already
holds is answered without DRF's request/response machinery and without a database query;
anything else (a session, an unknown token, a large body, any error) takes the ordinary DRF
path, so the answers, the errors and the schema are the same on both.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from energyweb.api import token_cache
from energyweb.api.authentication import ThrottledTokenAuthentication, address_locked_out
from energyweb.api.throttling import RouteThrottle
from energyweb.permissions import AuthenticatedMayPost, ReadAuthenticatedWriteStaff, may_manage_job
from energyweb.validation import FieldError, json_depth_exceeds
from scheduling.choices import Objective
from scheduling.models import Deployment, RoutingPolicy, Workload
from scheduling.models.deployment_specs import DeploymentResolutionError, spec_for_deployment
from scheduling.planner.types import PlanningError
from scheduling.services import routing
from scheduling.services.plan_checks import check_deployments


def _field_error(exc) -> ValidationError:
    return ValidationError({getattr(exc, "field", None) or "non_field_errors": [str(exc)]})


class RouteQuerySerializer(serializers.Serializer):
    input_tokens = serializers.IntegerField(min_value=0)
    max_tokens = serializers.IntegerField(min_value=1, required=False)


class RouteRequestSerializer(serializers.Serializer):
    """Schema only: the view parses the body itself so each error names its field."""

    policy = serializers.IntegerField()
    input_tokens = serializers.IntegerField(min_value=0, required=False)
    max_tokens = serializers.IntegerField(min_value=1, required=False)
    queries = RouteQuerySerializer(many=True, required=False, help_text=f"Batch form, at most {routing.MAX_BATCH}.")


class RouteView(APIView):
    """Route one query (``input_tokens``, optional ``max_tokens``) or a batch (``queries``) by a policy:
    the deployment, its Celery queue (hw.<hardware slug>), and the predicted energy (estimated from the
    models) and runtime, each with an interval over the unknown output length."""

    permission_classes = [AuthenticatedMayPost]
    throttle_classes = [RouteThrottle]
    FAST_MAX_BODY = 4096

    def dispatch(self, request, *args, **kwargs):
        fast = self._fast(request)
        if fast is not None:
            return fast
        return super().dispatch(request, *args, **kwargs)

    def _fast(self, request):
        """The answer without DRF, or None to take the DRF path (which then decides everything)."""
        if request.method != "POST" or request.content_type != "application/json":
            return None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword = ThrottledTokenAuthentication.keyword
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != keyword.lower():
            return None
        hit = token_cache.get(parts[1])
        if hit is None or address_locked_out(request):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= self.FAST_MAX_BODY:
            return None
        raw = request.body
        if json_depth_exceeds(raw):
            return None
        try:
            data = json.loads(raw, parse_constant=_refuse_constant)
            if not isinstance(data, dict) or "queries" in data:
                return None
            pk = routing.parse_policy_id(data.get("policy"))
            query = routing.parse_query(data)
            routing.cached_policy(pk)  # raises when unknown: the DRF path answers that 400
        except (ValueError, RecursionError, FieldError):
            return None
        user = hit[0]
        if not RouteThrottle().allow_user(user.pk):
            return None  # the DRF path answers the 429 (a refused request is not counted)
        request.user = user
        result = routing.route(pk, [query])[0]
        try:
            body = json.dumps({"policy": pk, **result}, separators=(",", ":"), allow_nan=False)
        except ValueError:
            return None
        response = HttpResponse(body, content_type="application/json")
        # As DRF's answer carries them.
        response["Vary"] = "Accept"
        response["Allow"] = "POST, OPTIONS"
        return response

    @extend_schema(request=RouteRequestSerializer, responses={
        200: OpenApiResponse(description="deployment, queue, energy_j, energy_j_interval, runtime_s, "
                                         "runtime_s_interval; the batch form answers results: [...]"),
        400: OpenApiResponse(description="Field-keyed errors: policy, input_tokens, max_tokens, queries")})
    def post(self, request):
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        try:
            pk = routing.parse_policy_id(data.get("policy"))
            batch = "queries" in data
            if batch:
                items = data["queries"]
                if not isinstance(items, list) or not items:
                    raise routing.RoutingError("queries must be a non-empty list.", "queries")
                if len(items) > routing.MAX_BATCH:
                    raise routing.RoutingError(f"At most {routing.MAX_BATCH} queries per request.", "queries")
                queries = [routing.parse_query(q, f"queries[{i}].") for i, q in enumerate(items)]
            else:
                queries = [routing.parse_query(data)]
            results = routing.route(pk, queries)
        except FieldError as exc:
            raise _field_error(exc) from exc
        if batch:
            return Response({"policy": pk, "results": results})
        return Response({"policy": pk, **results[0]})


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class RoutingPolicyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    workload = serializers.PrimaryKeyRelatedField(queryset=Workload.objects.all())
    deployments = serializers.PrimaryKeyRelatedField(queryset=Deployment.objects.select_related("llm", "hardware"),
                                                     many=True)
    objective = serializers.ChoiceField(choices=Objective.choices, default=Objective.PAPER_ENERGY_ACCURACY)
    parameters = serializers.JSONField(required=False, default=dict,
                                       help_text="zeta, accuracy_target, energy_budget_j, predictor, per_octave, seed, "
                                                 "explore_share (least share of each under-observed deployment, "
                                                 "default 0.01)")


class RoutingPolicySerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()

    class Meta:
        model = RoutingPolicy
        fields = ["id", "name", "training_workload", "objective", "zeta", "predictor", "version", "created",
                  "updated", "summary", "replays"]

    def get_summary(self, obj) -> dict:
        return routing.summary(obj)


class ReplayRequestSerializer(serializers.Serializer):
    workload = serializers.PrimaryKeyRelatedField(queryset=Workload.objects.all())
    seed = serializers.IntegerField(min_value=0, default=0)


class FeedbackRequestSerializer(serializers.Serializer):
    executions = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                       help_text="Execution ids to fold in; default every one not folded in yet.")


class RoutingPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Routing policies. Any signed-in user may make one or replay one (they compute); feedback changes a
    policy, so it is for staff or its creator; only staff delete."""

    queryset = RoutingPolicy.objects.select_related("training_workload").order_by("-created", "-id")
    serializer_class = RoutingPolicySerializer
    filterset_fields = ["objective", "training_workload"]

    def get_permissions(self):
        if self.action in ("create", "replay", "feedback"):
            return [AuthenticatedMayPost()]
        return [ReadAuthenticatedWriteStaff()]

    @extend_schema(request=RoutingPolicyCreateSerializer, responses={201: RoutingPolicySerializer})
    def create(self, request, *args, **kwargs):
        s = RoutingPolicyCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        params = d["parameters"] if isinstance(d["parameters"], dict) else None
        if params is None:
            raise ValidationError({"parameters": ["An object."]})
        try:
            check_deployments(d["deployments"], params)
            specs = [spec_for_deployment(dep) for dep in d["deployments"]]
            row = routing.make_policy(d["workload"], specs, objective=d["objective"], params=params,
                                      user=request.user, name=d.get("name", ""), deployments=d["deployments"])
        except DeploymentResolutionError as exc:
            raise ValidationError({"deployments": [str(exc)]}) from exc
        except FieldError as exc:
            raise _field_error(exc) from exc
        except PlanningError as exc:
            raise ValidationError({"parameters": [str(exc)]}) from exc
        return Response(RoutingPolicySerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReplayRequestSerializer, responses={200: OpenApiResponse(description="Replay result")})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        row = self.get_object()
        s = ReplayRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            result = routing.replay_policy(row, s.validated_data["workload"], seed=s.validated_data["seed"])
        except PlanningError as exc:
            raise ValidationError({"workload": [str(exc)]}) from exc
        return Response(result)

    @extend_schema(request=FeedbackRequestSerializer, responses={200: OpenApiResponse(description="Readings folded")})
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        row = self.get_object()
        if not may_manage_job(request.user, row):
            raise PermissionDenied("Only staff or the policy's creator may feed executions into it.")
        s = FeedbackRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            result = routing.apply_feedback(row, s.validated_data.get("executions"))
        except FieldError as exc:
            raise _field_error(exc) from exc
        return Response(result)
