"The name `collab_fastai.checks` that students' notebooks imported before the package was split by part: the same names as `collab_fastai.teach.checks`"
# Written by hand, not exported from a notebook: nbdev exports each notebook into one module only.
from .teach.checks import *
from .teach.checks import __all__
