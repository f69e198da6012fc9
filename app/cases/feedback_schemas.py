from typing import Annotated

from pydantic import Field

from app.api.schemas import InputModel, Text


class FeedbackIn(InputModel):
    score: Annotated[int, Field(strict=True, ge=1, le=5)] = Field(
        description="The customer's satisfaction, 1 (very unhappy) to 5 (very happy); 4 and 5 "
        "count as satisfied in reports.",
        examples=[5],
    )
    communication_score: Annotated[int, Field(strict=True, ge=1, le=5)] | None = Field(
        default=None,
        description="The customer's satisfaction with our communication while the case was "
        "open, 1 to 5; 4 and 5 count as satisfied in reports.",
        examples=[4],
    )
    comment: Text | None = Field(default=None, examples=["Refund arrived the same day."])
