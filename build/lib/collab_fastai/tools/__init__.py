"Tools: the site and CI's timings (notebooks 90-99; `pip install 'collab-fastai[docs]'`)"
