"The field: the chapter beside the classics and the published results on MovieLens 100k's five folds (notebooks 20-29; `pip install 'collab-fastai[field]'`)"
