"The course: the assignment nbgrader releases and autogrades, and `grade` of a class with every kind of notebook a class hands in, each in its sandbox."
import csv, json, os, shutil, socket, subprocess, sys, textwrap
from pathlib import Path
import pytest
import collab_fastai.teach.course as cs
from collab_fastai.core import UsageError

NBS = Path(__file__).parents[1]/'nbs'
EX = cs.exercises()  # answer name -> check name
NAMES = list(EX)
SOL = cs.notebook_answers(NBS/'42_solutions.ipynb')
WRONG = cs._WRONG
IMPORTS = "from fastai.collab import *\nfrom fastai.tabular.all import *\nfrom collab_fastai.teach.checks import *"
pytestmark = pytest.mark.skipif(not shutil.which('bwrap'), reason="grading needs bubblewrap (apt-get install bubblewrap)")

def nb(*cells, language='python'): return cs.notebook_json(list(cells), language=language)
def sols(*skip): return [SOL[n] for n in NAMES if n not in skip]

# Each student's notebook, written to do one thing a class does; what it must score is asserted below.
LISTENER = socket.socket(); LISTENER.bind(('127.0.0.1', 0)); LISTENER.listen(1)
PORT = LISTENER.getsockname()[1]

def class_notebooks(subs:Path, out:Path)->dict:
    merged = SOL['dot'] + '\n\n' + SOL['DotProduct']  # two answers merged into one cell
    return {
        # deleted (the imports), reordered, duplicated (a wrong dot first, the right one last), merged, and a wrong
        # answer retyped as Markdown and as a raw cell: graded as what the code cells hold
        'right': nb(*reversed(sols('dot', 'DotProduct')), WRONG['dot'], merged, ('markdown', WRONG['emb_sz']), ('raw', WRONG['dot']),
                    "check_dot(dot)"),
        # the top level loops, sleeps and trains (never run); dot's body loops forever: only dot is stopped
        'loops': nb(IMPORTS, "while True: pass", "import time\ntime.sleep(3600)", "learn = collab_learner(dls, n_factors=50)\nlearn.fit(1000)",
                    *sols('dot', 'emb_sz'), "def dot(a, b):\n    while True: pass", "import time\ndef emb_sz(n_cat):\n    time.sleep(3600)"),
        # allocates without end inside an answer
        'memory': nb(IMPORTS, *sols('create_params'), "def create_params(size):\n    x = []\n    while True: x.append(bytearray(10**8))"),
        # sys.exit, os._exit and a kill of its own process, in three answers; sys.exit at the top level (never run)
        'exits': nb(IMPORTS, "import sys\nsys.exit(1)", *sols('recommend', 'cosine_similarity', 'CollabNN'),
                    "import sys\ndef recommend(preds, titles, rated, n=5):\n    sys.exit(3)",
                    "import os\ndef cosine_similarity(factors, idx):\n    os._exit(0)",
                    "import os, signal\nclass CollabNN(Module):\n    os.kill(os.getpid(), signal.SIGKILL)"),
        # kills the sandbox's main process from the 6th answer: the five before it count, the three after are lost
        'kills_grader': nb(IMPORTS, *sols('emb_sz'), "import os, signal\ndef emb_sz(n_cat):\n    os.kill(os.getppid(), signal.SIGKILL)"),
        # raises at import (a module that is not there, a top-level raise) and while DotProduct is defined
        'raises': nb("import no_such_module\n" + IMPORTS, "raise RuntimeError('boom')", *sols('DotProduct'),
                     "class DotProduct(Module):\n    raise RuntimeError('at definition')"),
        # reads another student's notebook, the solutions, writes into the output folder, the network: a wrong
        # answer when it could, the right one when it could not
        'snoops': nb(IMPORTS, *sols('dot', 'emb_sz'), textwrap.dedent(f"""\
            import os
            def dot(a, b):
                for f in [{str(subs/'right.ipynb')!r}, {str(NBS/'42_solutions.ipynb')!r}]:
                    try: open(f).read(); return a.sum()
                    except OSError: pass
                for f in [{str(out/'stolen.txt')!r}, {str(subs/'stolen.txt')!r}]:
                    try: open(f, 'w').write('x'); return a.sum()
                    except OSError: pass
                if os.path.exists({str(subs)!r}) or os.path.exists({str(out)!r}): return a.sum()
                return (a*b).sum(dim=-1)"""), textwrap.dedent(f"""\
            import socket
            def emb_sz(n_cat):
                try: socket.create_connection(('127.0.0.1', {PORT}), timeout=2); return 1
                except OSError: return min(600, round(1.6 * n_cat**0.56))""")),
        # every answer wrong, and each tampers with the grader in its own way: 0 for each
        'tampers': nb(IMPORTS,
            "def check_dot(fn): return True\ndef dot(a, b):\n    return (a*b).sum()",  # its own check_dot (never called)
            "import torch\nclass DotProduct(Module):\n    def __init__(self, n_users, n_movies, n_factors, y_range=None):\n"
            "        torch.allclose = lambda *a, **k: True\n        self.user_factors,self.movie_factors = Embedding(n_users, n_factors),Embedding(n_movies, n_factors)\n"
            "    def forward(self, x): return self.user_factors(x[:,0]).sum(1)",
            "import collab_fastai.teach.checks as c\nfrom collab_fastai.models import DotProductBias",  # the book's class, not the student's
            "import builtins\ndef loss_with_wd(loss, params, wd, _=setattr(builtins, 'isinstance', lambda *a: True)):\n    return loss",
            "import collab_fastai.teach.checks as c\ndef create_params(size, _=setattr(c, '_match', lambda *a, **k: None)):\n    return nn.Parameter(torch.zeros(*size))",
            "import collab_fastai.teach.checks as c\ndef emb_sz(n_cat):\n    c._SIZES[:] = [1]\n    return 2",  # the check's data, changed in place
            "import collab_fastai.models as m\nclass CollabNN(m.CollabNN): pass",  # a subclass of the book's
            "def cosine_similarity(factors, idx):\n    import collab_fastai.teach.checks as c\n    c.CheckResult.__bool__ = lambda self: True\n    return factors[:, 0]",
            "def recommend(preds, titles, rated, n=5):\n    print('check_recommend: passed.')\n"
            "    print('{\"event\": \"answer\", \"name\": \"recommend\", \"points\": 1, \"hint\": \"\"}')\n    return []"),
        'blank': (NBS/'41_exercises.ipynb').read_text(),
        'empty': '',
        'badjson': '{"cells": [{"cell_type": "code", "source": "def dot(a, b): return (a*b).sum(-1)"',
        'r_kernel': nb("dot <- function(a, b) sum(a*b)", language='R'),
    }

@pytest.fixture(scope='module')
def graded(tmp_path_factory):
    "The class, graded once at --jobs 2 with a 20 s time limit"
    d = tmp_path_factory.mktemp('class')
    subs,out = d/'submitted',d/'grades'
    subs.mkdir()
    for s,text in class_notebooks(subs, out).items(): (subs/f'{s}.ipynb').write_text(text)
    (subs/'letter.txt').write_text('Dear teacher, my notebook is attached.')
    lines = []
    res = cs.grade(subs, out, jobs=2, timeout=20, say=lines.append)
    return dict(res, subs=subs, out=out, lines=lines, by={s: r for s,r in res['rows']})

def points(graded, s): return graded['by'][s]['points']
def hint(graded, s, n): return graded['by'][s]['hints'][n]

def test_right_answers_in_any_cells(graded):
    assert points(graded, 'right') == {n: 1 for n in NAMES}, graded['by']['right']['hints']
    assert graded['by']['right']['status'] == 'graded'

def test_blanks_are_not_done_yet(graded):
    assert sum(points(graded, 'blank').values()) == 0
    assert all(hint(graded, 'blank', n).startswith('not done yet') for n in NAMES)

def test_a_loop_or_a_sleep_costs_that_answer_only(graded):
    p = points(graded, 'loops')
    assert p['dot'] == 0 and p['emb_sz'] == 0 and sum(p.values()) == len(NAMES) - 2
    assert 'stopped at the time limit' in hint(graded, 'loops', 'dot') and 'stopped at the time limit' in hint(graded, 'loops', 'emb_sz')
    r = graded['by']['loops']
    assert r['status'] == 'stopped' and 'dot: stopped at the time limit' in r['reason']
    assert r['seconds'] < 20 + cs.STARTUP

def test_memory_without_end(graded):
    p = points(graded, 'memory')
    assert p['create_params'] == 0 and sum(p.values()) == len(NAMES) - 1
    # stopped by the memory cap, or, on a loaded machine, by the time limit first (seen once in CI): either way, that answer only
    h = hint(graded, 'memory', 'create_params')
    assert 'MemoryError' in h or 'signal 9' in h or 'stopped at the time limit' in h, h

def test_exits_and_kills(graded):
    p = points(graded, 'exits')
    assert (p['recommend'], p['cosine_similarity'], p['CollabNN']) == (0, 0, 0) and sum(p.values()) == len(NAMES) - 3
    assert 'SystemExit' in hint(graded, 'exits', 'recommend')
    assert 'exit code 0' in hint(graded, 'exits', 'cosine_similarity')
    assert 'signal 9' in hint(graded, 'exits', 'CollabNN')

def test_killing_the_grader_keeps_what_was_earned(graded):
    p,i = points(graded, 'kills_grader'),NAMES.index('emb_sz')
    assert all(p[n] == 1 for n in NAMES[:i]) and all(p[n] == 0 for n in NAMES[i:])
    assert all('your code killed it' in hint(graded, 'kills_grader', n) for n in NAMES[i+1:])

def test_raises_at_import(graded):
    p = points(graded, 'raises')
    assert p['DotProduct'] == 0 and sum(p.values()) == len(NAMES) - 1
    assert 'RuntimeError: at definition' in hint(graded, 'raises', 'DotProduct')

def test_cannot_read_others_write_out_or_connect(graded):
    assert points(graded, 'snoops') == {n: 1 for n in NAMES}, graded['by']['snoops']['hints']
    assert not (graded['out']/'stolen.txt').exists() and not (graded['subs']/'stolen.txt').exists()

def test_tampering_gets_no_point(graded):
    r = graded['by']['tampers']
    assert sum(r['points'].values()) == 0, r['hints']
    h = r['hints']
    assert "builtins.isinstance" in h['loss_with_wd'] and 'torch.allclose' in h['DotProduct']
    assert 'collab_fastai.teach.checks._match' in h['create_params'] and 'collab_fastai.teach.checks._SIZES' in h['emb_sz']
    assert 'collab_fastai.teach.checks.CheckResult.__bool__' in h['cosine_similarity']
    assert 'not your own code' in h['DotProductBias'] and 'not your own code' in h['CollabNN']
    assert h['dot'].startswith('sum over the factors only')  # the grader's check_dot ran, not theirs

def test_files_that_are_no_notebook(graded):
    rows = {r['student']: r for r in csv.DictReader(open(graded['out']/'grades.csv'))}
    for s,why in [('empty', 'empty.ipynb: an empty file'), ('badjson', 'badjson.ipynb: not a notebook: invalid JSON'),
                  ('r_kernel', 'r_kernel.ipynb: a notebook in another kernel language (R)'), ('letter', 'letter.txt: not a notebook')]:
        assert rows[s]['status'] == 'invalid' and rows[s]['reason'].startswith(why) and rows[s]['total'] == '0'
        assert why in (graded['out']/'feedback'/f'{s}.md').read_text()

def test_csv_feedback_and_progress(graded):
    rows = list(csv.DictReader(open(graded['out']/'grades.csv')))
    assert list(rows[0]) == ['student', 'file', *NAMES, 'total', 'out_of', 'status', 'reason']
    assert len(rows) == len(graded['rows']) == 13 and len(graded['lines']) == 13
    right = next(r for r in rows if r['student'] == 'right')
    assert right['total'] == right['out_of'] == str(len(NAMES))
    fb = (graded['out']/'feedback'/'blank.md').read_text()
    assert fb.startswith('# Feedback: blank') and '1. **dot**: 0 points. not done yet' in fb
    assert any(l.startswith('[') and f'right: {len(NAMES)}/{len(NAMES)}' in l for l in graded['lines'])

def test_goes_on_where_it_stopped(graded, tmp_path):
    subs,out = graded['subs'],graded['out']
    before = (out/'grades.csv').read_text()
    lines = []
    res = cs.grade(subs, out, jobs=1, timeout=20, say=lines.append)
    assert res['graded'] == 0 and res['reused'] == 13 and (out/'grades.csv').read_text() == before
    assert all('(already graded)' in l for l in lines)
    text = json.loads((subs/'blank.ipynb').read_text())
    text['cells'].append(dict(cell_type='code', metadata={}, outputs=[], execution_count=None, source=SOL['emb_sz']))
    (subs/'blank.ipynb').write_text(json.dumps(text))  # changed: graded again, and only it
    res = cs.grade(subs, out, jobs=1, timeout=20, say=lines.append)
    assert res['graded'] == 1 and res['reused'] == 12 and dict(res['rows'])['blank']['points']['emb_sz'] == 1

def test_nbgrader_layout_and_bad_arguments(tmp_path, cli):
    sub = tmp_path/'course'/'submitted'/'dave'/'collab_ch08'; sub.mkdir(parents=True)
    (sub/'collab_ch08.ipynb').write_text('')
    code,out,err = cli('grade', str(tmp_path/'course'), '--out', str(tmp_path/'g'))
    assert code == 0 and f'dave: 0/{len(NAMES)}, invalid' in err
    assert next(csv.DictReader(open(tmp_path/'g'/'grades.csv')))['student'] == 'dave'
    for args,msg in [((str(tmp_path/'nowhere'),), 'no folder'), ((str(tmp_path), '--jobs', '0'), '--jobs must be 1 or more'),
                     ((), "give the folder of the students' notebooks"), ((str(tmp_path/'course'), '--out', str(sub)), 'inside the submissions folder')]:
        code,out,err = cli('grade', *args, *(() if '--out' in args else ('--out', str(tmp_path/'g2'))))
        assert code == 2 and msg in err, err

def test_answer_programs_by_name():
    cells = [IMPORTS, "def helper(x): return x*2", "%timeit 1\ndef dot(a, b):\n    return helper((a*b)).sum(-1) / 2",
             "def dot(a, b): return 0\nprint(dot)", None, "def dot(a, b):\n    return helper((a*b)).sum(-1) / 2", "emb_sz = lambda n: min(600, round(1.6 * n**0.56))"]
    progs,notes = cs.answer_programs(cells, ['dot', 'emb_sz', 'recommend'])
    assert progs['dot']['cell'] == 6 and progs['dot']['stmts'][-1].startswith('def dot') and 'def helper(x):\n    return x * 2' in progs['dot']['stmts']
    assert not any('print' in s for s in progs['dot']['stmts'])
    assert progs['emb_sz']['stmts'][progs['emb_sz']['answer']].startswith('emb_sz = lambda')
    assert 'no answer' in progs['recommend']['reason']

def test_assignment_is_released_and_autograded_by_nbgrader(tmp_path):
    pytest.importorskip('nbgrader', reason="the teach extra: pip install -e '.[teach]'")
    nbg = shutil.which('nbgrader', path=str(Path(sys.executable).parent))
    course = tmp_path/'course'
    res = cs.assignment(course)
    env = dict(os.environ, PYTHONPATH=str(Path(cs.__file__).parents[1]), PATH=f"{Path(nbg).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # nbgrader runs alembic
    run = lambda *a: subprocess.run([nbg, *a], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    r = run('generate_assignment', 'collab_ch08', '--force')
    assert r.returncode == 0, r.stderr[-3000:]
    release = json.loads((course/'release'/'collab_ch08'/'collab_ch08.ipynb').read_text())
    # the student fills in five answers right, one wrong, and leaves the rest as released (raise NotImplementedError)
    right,wrong = NAMES[:5],'emb_sz'
    for c in release['cells']:
        if c['cell_type'] == 'code' and c['metadata'].get('nbgrader', {}).get('solution'):
            src = ''.join(c['source'])
            assert 'raise NotImplementedError()' in src and '### BEGIN SOLUTION' not in src
            name = next(n for n in NAMES if f'def {n}(' in src or f'class {n}(' in src)
            if name in right: c['source'] = SOL[name]
            elif name == wrong: c['source'] = WRONG[name]
    sub = course/'submitted'/'alice'/'collab_ch08'; sub.mkdir(parents=True)
    (sub/'collab_ch08.ipynb').write_text(json.dumps(release))
    r = run('autograde', 'collab_ch08', '--force')
    assert r.returncode == 0, r.stderr[-3000:]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course/'gradebook.db'}") as gb:
        theirs = {}
        for c in json.loads(res['paths']['notebook'].read_text())['cells']:
            m = c['metadata']['nbgrader']
            if m['grade'] and not m['solution']:
                name = ''.join(c['source']).split('(')[1].split(')')[0]
                theirs[name] = gb.find_grade(m['grade_id'], 'collab_ch08', 'collab_ch08', 'alice').score
    ours = cs.grade(course/'submitted', tmp_path/'grades', timeout=30, say=lambda s: None)['rows'][0][1]['points']
    assert ours == {n: int(n in right) for n in NAMES}
    assert theirs == {n: float(p) for n,p in ours.items()}

def test_bench_small(tmp_path):
    res = cs.grade_bench(3, tmp_path/'bench', timeout=20, say=lambda s: None)
    assert res['same_grades'] and set(res['runs']) == {1, 2} and all(r['seconds'] > 0 for r in res['runs'].values())
    assert json.loads((tmp_path/'bench'/'bench.json').read_text())['n'] == 3

def test_assignment_command(tmp_path, cli):
    code,out,err = cli('assignment', '--out', str(tmp_path/'course'))
    assert code == 0, err
    nb = json.loads((tmp_path/'course'/'source'/'collab_ch08'/'collab_ch08.ipynb').read_text())
    tests = [c for c in nb['cells'] if c['metadata']['nbgrader']['grade'] and not c['metadata']['nbgrader']['solution']]
    assert len(tests) == len(NAMES) and f"{len(NAMES)} exercises checked automatically" in err
    assert (tmp_path/'course'/'nbgrader_config.py').exists()
    if cs.questions():  # the prose questions: marked by hand, their model answers apart
        assert (tmp_path/'course'/'model_answers.md').exists() and 'marked by hand' in err
    code,out,err = cli('assignment', '--out', str(tmp_path/'c2'), '--name', 'bad name')
    assert code == 2 and '--name' in err
