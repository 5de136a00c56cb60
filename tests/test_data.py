"Getting MovieLens 100k (local copies through untar_data, checksums, errors) and the two DataLoaders profiles."
import zipfile, pytest
import fastdownload.core
from fastai.data.external import fastai_cfg
from fastai.collab import get_emb_sz
from fastai.tabular.core import TabDataLoader, TabWeightedDL
from collab_fastai.core import DataError, md5sum
from collab_fastai.data import *

@pytest.fixture
def fastai_home(tmp_path, monkeypatch):
    "An empty fastai home, and a network that fails if anything tries to download"
    home = tmp_path/'fastai_home'
    monkeypatch.setenv('FASTAI_HOME', str(home))
    monkeypatch.delenv(DATA_ENV, raising=False)
    def no_network(*args, **kwargs): raise OSError('network disabled by the test')
    monkeypatch.setattr(fastdownload.core, 'urlsave', no_network)
    fastai_cfg.cache_clear()  # fastai caches its config, and with it FASTAI_HOME
    yield home
    fastai_cfg.cache_clear()

def make_zip(fname, files, compress=zipfile.ZIP_DEFLATED):
    "A zip at `fname` holding `files` (name -> text)"
    with zipfile.ZipFile(fname, 'w', compress) as z:
        for name, text in files.items(): z.writestr(name, text)
    return fname

FAKE = {'ml-100k/u.data': '1\t1\t5\t881250949\n2\t1\t3\t881250950\n', 'ml-100k/u.item': '1|Toy Story (1995)|01-Jan-1995\n'}

def test_local_zip_goes_through_untar_data(fastai_home, tmp_path):
    src = make_zip(tmp_path/'ml-100k.zip', FAKE)
    path = get_ml100k(src, verify=False)
    assert path == fastai_home/'data'/'ml-100k'
    assert (fastai_home/'archive'/'ml-100k.zip').read_bytes() == src.read_bytes()
    assert load_ratings(path).title.tolist() == ['Toy Story (1995)']*2

def test_env_variable_names_the_copy(fastai_home, tmp_path, monkeypatch):
    src = make_zip(tmp_path/'copy.zip', FAKE)
    monkeypatch.setenv(DATA_ENV, str(src))
    assert get_ml100k(verify=False) == fastai_home/'data'/'ml-100k'
    assert data_source() == f'{DATA_ENV}={src}'

def test_a_new_archive_replaces_the_old_extraction(fastai_home, tmp_path):
    get_ml100k(make_zip(tmp_path/'a.zip', FAKE), verify=False)
    other = {**FAKE, 'ml-100k/u.item': '1|Heat (1995)|01-Jan-1995\n'}
    path = get_ml100k(make_zip(tmp_path/'b.zip', other), verify=False)
    assert load_ratings(path).title.unique().tolist() == ['Heat (1995)']

def test_checksum_mismatch_names_file_and_both_checksums(fastai_home, tmp_path):
    src = make_zip(tmp_path/'ml-100k.zip', FAKE)
    with pytest.raises(DataError) as e: get_ml100k(src)
    msg = str(e.value)
    assert 'u.data' in msg and ML_100K_MD5['u.data'] in msg and md5sum(fastai_home/'data'/'ml-100k'/'u.data') in msg
    assert 'verify=False' in msg

def test_missing_archive(fastai_home, tmp_path):
    with pytest.raises(DataError, match='does not exist.*COLLAB_FASTAI_DATA'): get_ml100k(tmp_path/'nowhere.zip')

def test_unreadable_archive(fastai_home, tmp_path):
    (tmp_path/'ml-100k.zip').write_bytes(b'PK\x03\x04 truncated')
    with pytest.raises(DataError, match='not a readable zip'): get_ml100k(tmp_path/'ml-100k.zip')
    assert not (fastai_home/'archive'/'ml-100k.zip').exists()

def test_archive_without_u_data(fastai_home, tmp_path):
    src = make_zip(tmp_path/'ml-100k.zip', {'ml-100k/README': 'hello'})
    with pytest.raises(DataError, match='no ml-100k/u.data'): get_ml100k(src)

def test_failed_extraction_leaves_no_folder(fastai_home, tmp_path):
    src = make_zip(tmp_path/'ml-100k.zip', {'ml-100k/u.item': 'x'*1000, 'ml-100k/u.data': 'y'*1000}, zipfile.ZIP_STORED)
    raw = bytearray(src.read_bytes())
    raw[raw.index(b'y'*1000) + 500] = ord('z')  # the bytes of u.data no longer match its CRC
    src.write_bytes(bytes(raw))
    with pytest.raises(DataError, match='Extracting .* failed'): get_ml100k(src, verify=False)
    assert not (fastai_home/'data'/'ml-100k').exists()

def test_no_network_and_no_copy(fastai_home):
    with pytest.raises(DataError) as e: get_ml100k()
    assert f'export {DATA_ENV}=' in str(e.value) and 'network disabled' in str(e.value)
    assert not (fastai_home/'data'/'ml-100k').exists()

def test_folder_without_u_data(tmp_path):
    with pytest.raises(DataError, match='has no u.data'): get_ml100k(tmp_path)

@pytest.mark.parametrize('change, msg', [
    (lambda df: df.drop(columns='rating'), "no column 'rating'"),
    (lambda df: df.iloc[:0], 'empty'),
    (lambda df: df.assign(rating=df.rating.astype(str)), 'not numeric'),
    (lambda df: df.assign(rating=df.rating.where(df.index > 0)), "'rating' has 1 missing"),
    (lambda df: df.assign(title=df.title.where(df.index > 1)), "'title' has 2 missing"),
])
def test_bad_ratings_frames(synthetic_ratings, change, msg):
    with pytest.raises(DataError, match=msg): collab_dls(change(synthetic_ratings))

def test_unknown_profile(synthetic_ratings):
    with pytest.raises(ValueError, match='book, fastai'): collab_dls(synthetic_ratings, 'nope')

def test_profiles_on_synthetic_data(synthetic_ratings):
    book, stock = collab_dls(synthetic_ratings, 'book', bs=16), collab_dls(synthetic_ratings, 'fastai', bs=16)
    assert type(book.train) is TabDataLoader and type(stock.train) is TabWeightedDL
    assert len(stock.classes['title']) == synthetic_ratings.title.nunique() + 1
    assert len(book.classes['title']) <= len(stock.classes['title'])
    x, y = book.one_batch()
    assert x.shape == (16, 2) and y.shape == (16, 1)

# --- the real data ---

def test_real_archive_through_untar_data(real_zip, fastai_home):
    path = get_ml100k(real_zip)
    assert path == fastai_home/'data'/'ml-100k'
    assert {n: md5sum(path/n) for n in ML_100K_MD5} == ML_100K_MD5

def test_extracted_folder(ml100k):
    assert get_ml100k(ml100k) == ml100k
    assert get_ml100k(ml100k.parent) == ml100k  # the folder that holds ml-100k/ is accepted too

def test_ratings_frame(ratings):
    assert ratings.shape == (100_000, 5)
    assert list(ratings.columns) == ['user', 'movie', 'rating', 'timestamp', 'title']
    assert (ratings.user.nunique(), ratings.movie.nunique(), ratings.title.nunique()) == (943, 1682, 1664)

def test_fastai_profile_sizes(ratings):
    for seed in (1, 2):
        assert get_emb_sz(collab_dls(ratings, 'fastai', seed=seed)) == [(944, 74), (1665, 102)]

def test_book_profile_seed_1_gives_the_books_sizes(ratings):
    dls = collab_dls(ratings, 'book', seed=1)
    assert (len(dls.classes['user']), len(dls.classes['title'])) == (944, 1635)
    assert get_emb_sz(dls) == [(944, 74), (1635, 101)]
    assert (len(dls.train_ds), len(dls.valid_ds)) == (80_000, 20_000)
    x, y = dls.one_batch()
    assert x.shape == (64, 2) and y.shape == (64, 1)

@pytest.mark.parametrize('seed', [0, 2, 42])
def test_book_profile_any_seed(ratings, seed):
    dls = collab_dls(ratings, 'book', seed=seed)
    (n_users, _), (n_titles, title_sz) = get_emb_sz(dls)
    assert n_users == 944 and 1628 <= n_titles <= 1641 and title_sz == 101

def test_seed_protocol_gives_identical_batches(ratings):
    a, b = [collab_dls(ratings, 'book', seed=3).one_batch()[0] for _ in range(2)]
    assert (a == b).all()

def test_a_damaged_extraction_is_extracted_again(real_zip, fastai_home):
    path = get_ml100k(real_zip)
    (path/'u.data').write_text('1\t1\t5\t0\n')  # damaged after the fact
    assert get_ml100k(real_zip) == path
    assert md5sum(path/'u.data') == ML_100K_MD5['u.data']

def test_book_profile_without_the_deprecated_pandas_path(ratings):
    "Validation titles outside the training vocabulary become #na# without pd.Categorical's deprecated path"
    import warnings, pandas as pd
    with warnings.catch_warnings():
        warnings.simplefilter('error', pd.errors.Pandas4Warning)
        dls = collab_dls(ratings, 'book', seed=1)
    assert len(dls.classes['title']) == 1635
    assert int((dls.valid_ds.items['title'] == 0).sum()) == 35  # the 35 validation rows whose title is not in training
