"""A target task as the user states it: class names, optional descriptions, domain, task."""

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from hubscout.errors import HubscoutError


class RequirementError(HubscoutError):
    """A task specification that cannot be matched (empty, duplicated or unknown classes)."""


class TaskSpec(BaseModel):
    """What the user wants classified."""

    class_names: list[str] = Field(min_length=1)
    descriptions: dict[str, str] = Field(default_factory=dict)
    domain: str = ""
    task: str = ""

    @field_validator("class_names")
    @classmethod
    def _clean(cls, names: list[str]) -> list[str]:
        cleaned = [" ".join(name.split()) for name in names]
        if any(not name for name in cleaned):
            raise ValueError("class names must not be empty")
        lowered = [name.lower() for name in cleaned]
        duplicates = sorted({n for n in lowered if lowered.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate class names: {', '.join(duplicates)}")
        return cleaned

    @model_validator(mode="after")
    def _descriptions_name_classes(self) -> "TaskSpec":
        unknown = sorted(set(self.descriptions) - set(self.class_names))
        if unknown:
            raise ValueError(f"descriptions for classes that are not listed: {', '.join(unknown)}")
        return self

    def class_texts(self) -> list[str]:
        """The text embedded for each class: its name, plus its description when given."""
        return [
            f"{name}, which is {self.descriptions[name]}" if name in self.descriptions else name
            for name in self.class_names
        ]


def parse_task(text: str, **fields: object) -> TaskSpec:
    """A TaskSpec from comma-separated class names ("crimson, navy, olive")."""
    names = [part.strip() for part in text.split(",")]
    try:
        return TaskSpec(class_names=[n for n in names if n] if text.strip() else [], **fields)
    except ValidationError as error:
        reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        raise RequirementError(
            f"invalid task {text!r}: {reason}. Give distinct, comma-separated class names"
        ) from error
