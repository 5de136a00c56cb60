"Teaching: exercises and their checks, the questionnaire, a class handed out and graded (notebooks 40-49; `pip install 'collab-fastai[teach]'`)"
