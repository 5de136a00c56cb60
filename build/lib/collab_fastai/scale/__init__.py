"Scale: every GroupLens release, bigger data, checkpoints, several processes (notebooks 30-39; `pip install 'collab-fastai[scale]'`)"
