"Shared fixtures: the real MovieLens 100k (from $COLLAB_FASTAI_DATA or fastai's cache) and small synthetic ratings."
from collab_fastai.numerics import set_numerics
set_numerics()  # before anything imports torch: every test runs under the portable numerics, as the commands do
import os, sys, numpy as np, pandas as pd, pytest
from collab_fastai.core import DataError
from collab_fastai.data import get_ml100k, load_ratings
from collab_fastai.numerics import pin_kernels
pin_kernels()  # as every training does first (run_experiment): MKL and batch norm on one thread
from collab_fastai.study import RUNS_ENV, run_store
from contextlib import nullcontext

CI_RUNS = os.environ.pop(RUNS_ENV, None)  # the run store a CI names: every test trains, unless it asks for the store

@pytest.fixture(scope='session')
def ci_runs():
    "`with ci_runs():` the run store the CI named, for a fixture that only reads the chapter's trained runs (a no-op without one)"
    return lambda: run_store(CI_RUNS) if CI_RUNS else nullcontext()

def _need_data(why):
    "Skip without the real data, except under CI=true where a missing data set is a failure"
    msg = f"needs MovieLens 100k ({why}); set COLLAB_FASTAI_DATA=/path/to/ml-100k.zip"
    if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'): pytest.fail(msg)
    pytest.skip(msg)

@pytest.fixture(scope='session')
def ml100k():
    "The extracted, checksum-verified MovieLens 100k folder"
    try: return get_ml100k()
    except DataError as e: _need_data(e)

@pytest.fixture(scope='session')
def real_zip():
    "The genuine ml-100k.zip that $COLLAB_FASTAI_DATA names"
    src = os.environ.get('COLLAB_FASTAI_DATA', '')
    if not src.endswith('.zip') or not os.path.isfile(src): _need_data('COLLAB_FASTAI_DATA naming ml-100k.zip')
    return src

@pytest.fixture(scope='session')
def ratings(ml100k):
    "The book's ratings frame (do not modify: it is shared by the session)"
    return load_ratings(ml100k)

@pytest.fixture(scope='session')
def synthetic_ratings():
    "600 ratings of 40 titles by 30 users, with the book's columns"
    rng = np.random.default_rng(0)
    n = 600
    users, movies = rng.integers(1, 31, n), rng.integers(1, 41, n)
    return pd.DataFrame(dict(user=users, movie=movies, rating=rng.integers(1, 6, n), timestamp=rng.integers(8e8, 9e8, n),
                             title=[f'Film {m} (19{50+m})' for m in movies]))

@pytest.fixture
def cli(capsys):
    "Run `collab-fastai *args` in this process; returns (exit code, stdout, stderr)"
    from collab_fastai.cli import main
    def run(*args):
        old, sys.argv = sys.argv, ['collab-fastai', *args]
        try:
            try: code = main()
            except SystemExit as e: code = e.code
        finally: sys.argv = old
        return (code, *capsys.readouterr())
    return run
