"""Flows of supervision made of several actions in one transaction (to be folded into the area's
actions module)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from duban.core.actions import action
from duban.core.errors import Invalid, NotFound
from duban.matters.attachments import do_attach_file
from duban.supervision.models import EscalationStep
from duban.supervision.steps import do_record_step


@action
def do_record_step_with_evidence(step_id: int, *, actor, evidence: dict, uploads: Iterable[tuple[str, UploadedFile]],
                                 on: date | None = None) -> EscalationStep:
    """Record a due step with its typed evidence and the files its tier asks for, all or nothing:
    each file is attached to the step's matter and named in its evidence field ("name（附件N）"); a
    file refused names its field (``evidence.<code>``) and nothing is recorded."""
    matter_id = EscalationStep.objects.filter(pk=step_id).values_list("matter_id", flat=True).first()
    if matter_id is None:
        raise NotFound(f"no step {step_id}")
    evidence = dict(evidence)
    for code, upload in uploads:
        try:
            attachment = do_attach_file(matter_id, actor=actor, upload=upload)
        except Invalid as exc:
            raise Invalid(str(exc), field=f"evidence.{code}") from None
        evidence[code] = f"{attachment.original_name}（{_('附件')}{attachment.pk}）"
    return do_record_step(step_id, actor=actor, evidence=evidence, on=on)
