"The questionnaire: the 31 questions in the book's order, each with an answer, the code questions tied to checks that exist."
import dataclasses, pytest
from collab_fastai.teach.questionnaire import Question, QUESTIONS, question_md, questions_md
from collab_fastai.teach.checks import ANSWERS

def test_the_31_questions_in_order():
    assert [q.number for q in QUESTIONS] == list(range(1, 32))
    assert all(isinstance(q, Question) and q.question.strip() and q.answer.strip() for q in QUESTIONS)
    assert len({q.question for q in QUESTIONS}) == len({q.answer for q in QUESTIONS}) == 31

def test_the_code_questions_have_their_checks():
    checked = [q.check for q in QUESTIONS if q.check]
    assert set(checked) <= set(ANSWERS) and len(checked) == len(set(checked))
    new = list(ANSWERS)[9:]  # the exercises made from the questionnaire, 10 to 15
    assert len(new) >= 5 and set(new) <= set(checked)

def test_a_question_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError): QUESTIONS[0].answer = ''

def test_markdown():
    q = QUESTIONS[4]
    assert question_md(q, answer=False) == f'**5. {q.question}**'
    assert q.answer in question_md(q) and q.check in question_md(q)
    md = questions_md()
    assert all(f'**{n}. ' in md for n in range(1, 32)) and md.index('**9. ') < md.index('**10. ')
