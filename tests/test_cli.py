"The collab-fastai console script: argument errors, missing data, and the sizes it prints."
import shutil, subprocess, sys, pytest
from pathlib import Path

def test_no_command(cli):
    code, out, err = cli()
    assert code == 2 and 'usage: collab-fastai COMMAND' in err

def test_help(cli):
    code, out, err = cli('--help')
    assert code == 0 and 'sizes' in out

def test_unknown_command(cli):
    code, out, err = cli('frobnicate')
    assert code == 2 and "unknown command 'frobnicate'" in err and 'sizes' in err

@pytest.mark.parametrize('args, msg', [
    (['--profile', 'nope'], "invalid choice: 'nope' (choose from 'book', 'fastai')"),
    (['--seed', 'one'], "--seed: invalid"),
    (['--frobnicate'], 'unrecognized arguments: --frobnicate'),
])
def test_sizes_bad_arguments(cli, args, msg):
    code, out, err = cli('sizes', *args)
    assert code == 2 and msg in err and out == ''

def test_sizes_missing_data(cli, tmp_path):
    code, out, err = cli('sizes', '--data', str(tmp_path/'nowhere.zip'))
    assert code == 2 and 'does not exist' in err and 'COLLAB_FASTAI_DATA' in err and out == ''

def test_sizes_book(cli, ml100k):
    code, out, err = cli('sizes', '--data', str(ml100k))
    assert code == 0 and out == '[(944, 74), (1635, 101)]\n'
    assert f'data: {ml100k}' in err and '1635 titles' in err

def test_console_script_fastai_profile(ml100k):
    exe = shutil.which('collab-fastai', path=str(Path(sys.executable).parent))
    assert exe, 'the console script collab-fastai is not installed beside this Python'
    res = subprocess.run([exe, 'sizes', '--profile', 'fastai', '--data', str(ml100k)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout == '[(944, 74), (1665, 102)]\n'
    assert 'Warning' not in res.stderr
