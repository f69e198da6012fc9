from typing import Annotated

from pydantic import BeforeValidator, Field

from app.api.schemas import InputModel, Text, whole

# A score of 1 to 5, read as every integer of a body is: 5.0 is 5, 4.5 is refused.
Score = Annotated[int, Field(strict=True, ge=1, le=5), BeforeValidator(whole)]


class FeedbackIn(InputModel):
    score: Score = Field(
        description="The customer's satisfaction, 1 (very unhappy) to 5 (very happy); 4 and 5 "
        "count as satisfied in reports.",
        examples=[5],
    )
    communication_score: Score | None = Field(
        default=None,
        description="The customer's satisfaction with our communication while the case was "
        "open, 1 to 5; 4 and 5 count as satisfied in reports.",
        examples=[4],
    )
    comment: Text | None = Field(default=None, examples=["Refund arrived the same day."])
