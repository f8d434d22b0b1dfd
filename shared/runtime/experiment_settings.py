"""The experiment the request worker runs: its name (the salt of the user hash), its arms
with their shares and policies, its control, and the readout's error rate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adcraft.shared.runtime.sections import Section

Policy = Literal["generator", "thompson", "default"]
CopySource = Literal["model", "template"]


class ArmSettings(Section):
    """One arm: the share of users it gets and how it answers them."""

    share: float = Field(gt=0, description="Relative share of users (arms' shares are normalised).")
    policy: Policy = Field(
        description="generator: the combination generator on Triton; thompson: Thompson "
        "sampling in the worker; default: the catalogue's default creative."
    )
    copy_source: CopySource = Field(
        default="model", description="model: the copy pools; template: template copy only."
    )


class ExperimentSettings(Section):
    """An experiment named in settings. Its name salts the user hash: changing an arm's
    share or policy under the same name is refused at start (users would switch arms
    mid-experiment); rename the experiment to start a new one."""

    name: str = Field(default="creative-1", min_length=1, max_length=64)
    control: str = Field(default="thompson", description="The arm every lift is measured against.")
    arms: dict[str, ArmSettings] = Field(
        default={
            "generator": ArmSettings(share=0.9, policy="generator"),
            "thompson": ArmSettings(share=0.1, policy="thompson"),
        },
        description='Arm name → {"share", "policy", "copy_source"}.',
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="The readout's error rate.")
    tau: float = Field(
        default=0.1, gt=0, description="mSPRT mixture scale: the relative lift it is tuned to find."
    )

    @model_validator(mode="after")
    def _control_is_an_arm(self) -> ExperimentSettings:
        if not self.arms:
            raise ValueError("arms: at least one arm")
        if self.control not in self.arms:
            raise ValueError("control: must name one of the arms")
        if any(len(arm) > 64 or not arm for arm in self.arms):
            raise ValueError("arms: names of 1 to 64 characters")
        return self

    def shares(self) -> dict[str, float]:
        """Arm → share, in the arms' order (what assignment and the SRM check use)."""
        return {name: arm.share for name, arm in self.arms.items()}

    def design(self) -> dict[str, object]:
        """What may not change under the experiment's name."""
        return {name: arm.model_dump() for name, arm in self.arms.items()}
