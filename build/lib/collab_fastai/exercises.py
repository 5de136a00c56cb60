"The name `collab_fastai.exercises` that students' notebooks imported before the package was split by part: the same names as `collab_fastai.teach.exercises`"
# Written by hand, not exported from a notebook: nbdev exports each notebook into one module only.
from .teach.exercises import *
from .teach.exercises import __all__
