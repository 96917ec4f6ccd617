"""Knowledge distillation: logit and intermediate-layer losses, two stages as TinyBERT, derived students.

    student = derive_student(teacher, example, width=0.25)          # same architecture, narrower
    distill(teacher, student, unlabelled_x, train_split, DistillConfig(temperature=4, alpha=0.7))

Teacher and student are any PyTorch modules; see ``losses.py`` for what is matched and ``student.py``
for how a student is derived.
"""

from pocketml.compress.distill.losses import FeatureMatcher, logit_loss
from pocketml.compress.distill.student import check_student, derive_student
from pocketml.compress.distill.train import DistillConfig, distill

__all__ = ["DistillConfig", "FeatureMatcher", "check_student", "derive_student", "distill", "logit_loss"]
