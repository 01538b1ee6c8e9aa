"""The registry's request and answer schemas (pydantic): what the service validates and
documents in its OpenAPI, and what its client sends and reads."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$"
SOURCE_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # no NUL, newline or other control character
Kind = Literal["vlm", "classifier", "generator", "pipeline"]
Status = Literal["registered", "labeling", "ready", "failed", "retired"]
ClassName = Annotated[str, Field(min_length=1, max_length=200)]


class RegisterRequest(BaseModel):
    """A model to register."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="The model's name in the hub.")
    source: str = Field(
        min_length=3,
        max_length=2000,
        pattern=SOURCE_PATTERN,
        description="e.g. open_clip:ViT-B-32@/models/b32.pt",
    )
    license: str = Field(default="unknown", min_length=1, max_length=200)
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN)]] = Field(
        default_factory=list, max_length=20
    )


class ModelSummary(BaseModel):
    """A model as the registry holds it."""

    model_id: str
    source: str
    kind: str
    content_hash: str
    status: str
    status_reason: str | None
    license: str
    tags: list[str]
    label_version: str | None
    flagged: bool = Field(
        default=False, description="A pipeline with open lineage flags (see the model's flags)."
    )


class StatusEventOut(BaseModel):
    """One status change."""

    status: str
    reason: str | None
    at: str


class DriftRow(BaseModel):
    """A node on which a label version moved against the model's previous one."""

    node_id: str
    previous: float
    current: float
    change: float


class LabelVersionOut(BaseModel):
    """One published label version, with its drift from the previous one (nodes whose
    informedness_siblings moved by more than 0.1)."""

    label_version: str
    graph_hash: str
    rows: int
    published_at: str
    drift: list[DriftRow] = []


class ModelDetail(ModelSummary):
    """A model with its status history and label versions."""

    history: list[StatusEventOut]
    label_versions: list[LabelVersionOut]


class BenchmarkRow(BaseModel):
    """A published benchmark row about one model."""

    model_config = ConfigDict(extra="allow")

    benchmark: str


class LabelSummary(BaseModel):
    """The current label: how many concept nodes it covers and each metric's mean."""

    nodes: int
    mean: dict[str, float]


class PipelineMemberOut(BaseModel):
    """A model a pipeline runs, as the pipeline was trained on it."""

    model_id: str
    content_hash: str
    label_version: str | None


class LineageFlag(BaseModel):
    """Why a pipeline may no longer be what it was trained as."""

    member: str
    reason: str
    at: str


class ModelAnswerDetail(ModelDetail):
    """A model with its history, label versions, specifications, benchmark rows and
    lineage: the members a pipeline runs and its open flags, the pipelines that run a
    model."""

    members: list[PipelineMemberOut]
    used_by: list[str]
    flags: list[LineageFlag]
    label_summary: LabelSummary | None
    specifications: list[dict[str, Any]]
    benchmark_rows: list[BenchmarkRow]


class ModelAnswer(BaseModel):
    """One model and the hub version it was read at."""

    model: ModelAnswerDetail
    url: str
    hub_version: int


class ModelPage(BaseModel):
    """A page of models."""

    items: list[ModelSummary]
    total: int
    limit: int
    offset: int
    hub_version: int


class SelectRequest(BaseModel):
    """A task given by its class names."""

    model_config = ConfigDict(extra="forbid")

    class_names: list[ClassName] = Field(min_length=1, max_length=100)
    descriptions: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=100, description="Optional: class name -> description"
    )
    kind: Literal["vlm", "classifier"] = "vlm"
    k: int = Field(default=3, ge=1, le=50, description="Models selected per class")
    top: int = Field(default=20, ge=1, le=1000, description="Models in the overall ranking")
    max_params: int | None = Field(default=None, ge=1)
    licenses: list[ClassName] = Field(default_factory=list, max_length=20)


class NodeMatch(BaseModel):
    """A concept node a class was matched to."""

    node_id: str
    similarity: float
    weight: float


class ModelScore(BaseModel):
    """A model's score r(m, y) for one class."""

    model: str
    r: float


class ClassEvidence(BaseModel):
    """How one class was matched and which models were selected for it."""

    class_name: str
    covered: bool
    nodes: list[NodeMatch]
    top: list[ModelScore]


class RankedModel(BaseModel):
    """A model in the overall ranking."""

    model: str
    mean_r: float
    predicted_accuracy: float | None
    label_version: str | None


class SelectAnswer(BaseModel):
    """The models to use, best first, with the evidence and the hub version."""

    hub_version: int
    kind: str
    ranking: list[RankedModel]
    classes: list[ClassEvidence]
    not_covered: list[str]
    excluded: dict[str, str]


class IdentifiedModel(BaseModel):
    """A model that fits the examples."""

    model: str
    score: float
    evidence: str


class OpenSetAnswer(BaseModel):
    """Whether a hub generator made the examples: the calibrated probability and the answer
    (the best generator, or "none of the hub's generators")."""

    p_from_hub: float
    answer: str


class IdentifyAnswer(BaseModel):
    """Models ranked by how well they fit the example images, and whether any hub generator
    made them (generators) or any hub model was trained on data like them (classifiers and
    VLMs; null when the hub holds no open-set calibration)."""

    hub_version: int
    kind: str
    score: str
    ranking: list[IdentifiedModel]
    open_set: OpenSetAnswer | None = None


class RankRow(BaseModel):
    """A model's transferability scores on the uploaded dataset."""

    model: str
    scores: dict[str, float | None]
    saturated: list[str]


class RankAnswer(BaseModel):
    """Models ranked by the first metric, best first."""

    hub_version: int
    examples: int
    metrics: list[str]
    ranking: list[RankRow]


class TunedEntry(BaseModel):
    """Parameters a benchmark tuned, as queries use them (hubscout.tuning)."""

    kind: str
    version: str  # the content hash of the values
    hub_version: int  # the hub version they were published at
    values: dict[str, Any]


class TunedAnswer(BaseModel):
    """Every kind of tuned parameters the hub holds now."""

    hub_version: int
    tuned: list[TunedEntry]


class BenchmarkAnswer(BaseModel):
    """A published benchmark summary."""

    name: str
    hub_version: int
    document: dict[str, Any]
