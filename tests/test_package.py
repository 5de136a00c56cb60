"The package outside its own box (94_package): licences, the core without the parts' libraries, the dists, the checks' reports"
import json, subprocess, sys, zipfile
from email.parser import Parser
import pytest
from collab_fastai.core import UsageError
from collab_fastai.tools.package import *

PART_LIBS = ('surprise', 'optuna', 'distributed', 'dask', 'accelerate', 'nbgrader', 'mkdocs', 'plotly', 'myfm')  # not fasthtml: fastai's fastprogress imports it

def run_without_parts(code:str, *args:str)->subprocess.CompletedProcess:
    "Run `code` in a new Python where importing any part's library fails, as in an install of the core alone"
    block = f"import sys\nfor m in {PART_LIBS!r}: sys.modules[m] = None\n"
    return subprocess.run([sys.executable, '-c', block + code, *args], capture_output=True, text=True, timeout=300)

def test_every_distribution_installed_with_every_part_has_a_licence_a_gpl3_work_may_include():
    rows = licences(('all',))
    assert len(rows) > 100
    assert [r for r in rows if not r[3]] == []

def test_licence_words_that_a_gpl3_work_may_not_include_are_caught():
    assert not compatible('GPL-2.0-only') and not compatible('Proprietary') and not compatible('unknown')
    assert not compatible('Apache-2.0 AND GPL-2.0-only') and compatible('MIT OR GPL-2.0-only')
    assert compatible('Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND BSL-1.0 AND MIT')

def test_the_core_needs_none_of_the_parts_libraries():
    core = {r[0].lower() for r in licences()}
    assert {'fastai', 'fastcore', 'torch', 'pandas', 'matplotlib', 'numpy'} <= core
    assert not {'scikit-surprise', 'optuna', 'distributed', 'dask', 'accelerate', 'nbgrader', 'sqlalchemy'} & core

def test_the_chapter_and_the_exercises_import_and_run_without_the_parts_libraries():
    r = run_without_parts(
        "import collab_fastai.reproduce, collab_fastai.interpret, collab_fastai.commands\n"
        "from collab_fastai.checks import check_dot\n"
        "assert check_dot(lambda a, b: (a*b).sum(-1))\n"
        "from collab_fastai.cli import main\n"
        "sys.argv = ['collab-fastai', 'diff', '-h']\n"
        "main()")
    assert r.returncode == 0, r.stderr[-2000:]

@pytest.mark.parametrize('args,extra', [
    (['leaderboard', '--models', 'surprise_svd'], 'field'),
    (['benchmark', '--folds', 'u1', '--models', 'tuned_surprise_svd', '--trials', '1'], 'field'),
    (['reproduce', '--experiments', 'dot_product', '--jobs', '2'], 'scale'),
    (['app', '--bench'], 'teach'),
])
def test_a_command_whose_extra_is_missing_names_the_pip_install_in_one_line(tmp_path, args, extra):
    r = run_without_parts("from collab_fastai.cli import main\nsys.argv = ['collab-fastai', *sys.argv[1:]]\nsys.exit(main())", *args, '--out', str(tmp_path/'out'))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2, r.stderr[-2000:]
    assert f"pip install 'collab-fastai[{extra}]'" in lines[-1] and 'Traceback' not in r.stderr, r.stderr[-2000:]

@pytest.fixture(scope='module')
def dists(tmp_path_factory): return build_dists(tmp_path_factory.mktemp('dist'))

def test_the_wheel_and_the_sdist_hold_the_parts_the_reference_numbers_and_the_licence_and_no_movielens_file(dists):
    assert sorted(d.suffix for d in dists) == ['.gz', '.whl']
    assert check_dists(dists) == {d.name: [] for d in dists}

def test_the_wheel_says_its_licence_its_core_and_its_extras(dists):
    whl = next(d for d in dists if d.suffix == '.whl')
    with zipfile.ZipFile(whl) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())
    assert meta['License-Expression'] == 'GPL-3.0-or-later'
    core = sorted(r.split('>')[0].split('<')[0].split('=')[0] for r in meta.get_all('Requires-Dist') if 'extra ==' not in r)
    assert core == ['fastai', 'fastcore', 'matplotlib', 'numpy', 'pandas', 'torch']
    assert {'field', 'scale', 'teach', 'docs', 'all', 'dev'} <= set(meta.get_all('Provides-Extra'))

def test_a_python_older_than_the_package_allows_is_refused_in_one_line(dists):
    import glob
    old = sorted(glob.glob('/root/.pyenv/versions/3.9*/bin/python3.9'))
    if not old: pytest.skip('no Python 3.9 on this machine')
    whl = next(d for d in dists if d.suffix == '.whl')
    r = subprocess.run([old[0], '-m', 'pip', 'install', '--dry-run', '--no-deps', str(whl)], capture_output=True, text=True)
    assert r.returncode != 0 and "requires a different Python" in r.stderr, r.stderr

def test_a_python_that_is_not_here_is_named():
    with pytest.raises(UsageError, match=r"no Python 3.99 here: install it \(pyenv install 3.99\)"): find_python('3.99')

def test_an_unknown_version_set_is_named():
    with pytest.raises(UsageError, match="unknown version set 'latest': choose from oldest, newest"): version_env('latest', '/tmp/nowhere')

def test_the_reports_show_each_step_and_each_version_set():
    w = dict(steps=[dict(name='pip install the wheel (the core)', code=0, seconds=3.0, ok=True)], dists={'a.whl': 10.0}, contents={'a.whl': []},
             core=dict(distributions=90, mb=1000.0))
    md = wheel_md(w)
    assert '| pip install the wheel (the core) | 0 | 3.0 | yes |' in md and 'the core alone: 90 distributions, 1000.0 MB' in md
    v = dict(oldest=dict(versions=dict(python='3.10.13', torch='2.13.0', fastai='2.8.1'), judged='8 of 8 experiments pass', golden='differs'))
    assert '| oldest | 3.10.13 | 2.13.0 | 2.8.1 |' in versions_md(v) and '8 of 8 experiments pass | differs |' in versions_md(v)

def test_a_failed_install_stops_the_wheel_check_with_why_recorded_from_a_relative_folder(dists, tmp_path, monkeypatch):
    import collab_fastai.tools.package as pk
    monkeypatch.setattr(pk, 'build_dists', lambda out, root=None: dists)
    monkeypatch.chdir(tmp_path)
    (tmp_path/'pins.txt').write_text('collab-fastai==0.0.0\n')  # the wheel cannot satisfy it: pip refuses before any download
    res = wheel_check('wc', data='unused.zip', constraints='pins.txt', say=lambda s: None)
    assert [(s['name'], s['ok']) for s in res['steps']] == [('a new virtual environment', True), ('pip install the wheel (the core)', False)]
    assert res['passed'] is False and json.loads((tmp_path/'wc'/'wheel.json').read_text())['passed'] is False
    md = wheel_md(res)
    assert '| pip install the wheel (the core) | 1 |' in md and 'pip install the wheel (the core) failed' in md and 'ResolutionImpossible' in md, md
