"MovieLens releases: tiny fake files in each release's layout (no real data, no network), checksums, download path, synthetic ratings."
import dataclasses, shutil, zipfile
from pathlib import Path
import numpy as np, pandas as pd, pytest
import collab_fastai.scale.datasets as ds
REAL_FETCH_MD5 = ds._fetch_md5
from collab_fastai.core import DataError, UsageError, md5sum
from collab_fastai.data import load_ratings
from fastai.data.external import fastai_cfg

FAKE = pd.DataFrame(dict(user=[1, 1, 2, 3], movie=[10, 20, 10, 30], rating=[4.5, 3., 5., .5],
                         timestamp=[978300760, 978302109, 978301968, 978300275],
                         title=['Café Society (1995)', 'Grumpier Old Men, The (1995)', 'Café Society (1995)', 'Heat (1995)']))
WHOLE = FAKE.assign(rating=[4., 3., 5., 1.])

@pytest.fixture
def home(tmp_path, monkeypatch):
    "fastai's folders in tmp_path, and no download unless a test provides one"
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'fastai'))
    def no_network(url): raise OSError('no network in tests')
    monkeypatch.setattr(ds, '_download_archive', no_network)
    monkeypatch.setattr(ds, '_fetch_md5', no_network)
    fastai_cfg.cache_clear()  # fastai caches its config, and with it FASTAI_HOME
    yield tmp_path/'fastai'
    fastai_cfg.cache_clear()

def publish(monkeypatch, name, md5):
    "Pretend GroupLens publishes `md5` for `name`"
    monkeypatch.setitem(ds.DATASETS, name, dataclasses.replace(ds.DATASETS[name], md5=md5))

def fake_download(monkeypatch, src):
    "Replace the download by a copy of the zip `src` where fastdownload saves archives; returns the list of URLs asked for"
    urls = []
    def download(url):
        urls.append(url)
        dest = ds.fastai_cfg().path('archive')/Path(url).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(src, dest))
    monkeypatch.setattr(ds, '_download_archive', download)
    return urls

# --- the table of releases

def test_table_and_names():
    df = ds.list_datasets()
    assert df.name.tolist() == ['ml-100k', 'ml-latest-small', 'ml-1m', 'ml-10m', 'ml-20m', 'ml-25m', 'ml-32m']
    assert list(df.columns[:7]) == ['name', 'ratings', 'users', 'items', 'scale', 'url', 'md5']
    row = df.set_index('name').loc['ml-10m']
    assert (row.ratings, row.url, row.md5) == (10_000_054, 'https://files.grouplens.org/datasets/movielens/ml-10m.zip', 'ce571fd55effeba0271552578f2648bd')
    assert df.set_index('name').md5.isna().tolist() == [False, True, False, False, False, False, False]
    text = ds.datasets_table()
    assert '32,000,204' in text and 'd472be332d4daa821edc399621853b57' in text and text.count('\n') >= 8
    with pytest.raises(UsageError, match='unknown data set .ml-5m.: choose one of ml-100k, ml-latest-small'): ds.dataset_info('ml-5m')
    with pytest.raises(UsageError, match='unknown data set'): ds.get_dataset('ml-5m')
    with pytest.raises(UsageError, match='unknown data set'): ds.load_dataset('nope', '.')

# --- reading each layout

def test_latest_small_csv(tmp_path):
    d = tmp_path/'ml-latest-small'; d.mkdir()
    (d/'ratings.csv').write_text('userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,0.5,964982224\n')
    (d/'movies.csv').write_text('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,"Grumpier Old Men, The (1995)",Comedy|Romance\n'
                                '4,Unrated (1995),Drama\n')
    r = ds.load_dataset('ml-latest-small', d)
    assert list(r.columns) == ['user', 'movie', 'rating', 'timestamp', 'title']
    assert r.dtypes.astype(str).tolist() == ['int32', 'int32', 'float32', 'int64', 'category']
    assert r.rating.tolist() == [4.0, 4.5, 0.5] and r.timestamp.tolist() == [964982703, 964981247, 964982224]
    assert r.title.tolist() == ['Toy Story (1995)', 'Grumpier Old Men, The (1995)', 'Toy Story (1995)']
    assert r.title.cat.categories.tolist() == ['Grumpier Old Men, The (1995)', 'Toy Story (1995)']  # rated movies only
    assert ds.load_dataset('ml-latest-small', tmp_path).equals(r)  # the folder that holds it

def test_1m_dat_latin1(tmp_path):
    d = tmp_path/'ml-1m'; d.mkdir()
    (d/'ratings.dat').write_text('1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n')
    (d/'movies.dat').write_bytes("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::Caf\xe9 (1996)::Drama\n"
                                 '3::"Great Performances" Cats (1998)::Musical\n'.encode('latin-1'))
    r = ds.load_dataset('ml-1m', d)
    assert r.title.tolist() == ["One Flew Over the Cuckoo's Nest (1975)", 'Café (1996)', "One Flew Over the Cuckoo's Nest (1975)"]
    assert r.user.tolist() == [1, 1, 2] and r.movie.tolist() == [1193, 661, 1193] and r.rating.tolist() == [5, 3, 4]
    assert ds._read_movies(ds.DATASETS['ml-1m'], d/'movies.dat').title.iloc[2] == '"Great Performances" Cats (1998)'

def test_10m_zip_folder_renamed(tmp_path, home, monkeypatch):
    z = ds.write_release(FAKE, 'ml-10m', tmp_path, archive=True)
    assert zipfile.ZipFile(z).namelist() == ['ml-10M100K/ratings.dat', 'ml-10M100K/movies.dat']
    assert b'1::10::4.5::978300760' in zipfile.ZipFile(z).read('ml-10M100K/ratings.dat')
    publish(monkeypatch, 'ml-10m', md5sum(z))
    p = ds.get_dataset('ml-10m', z)
    assert p == home/'data'/'ml-10m' and (p/'ratings.dat').is_file() and not (p/'ml-10M100K').exists()
    r = ds.load_dataset('ml-10m', p)
    assert r.rating.tolist() == [4.5, 3, 5, .5] and r.title.tolist() == FAKE.title.tolist()
    assert ds.get_dataset('ml-10m', z) == p  # the same archive again: reused

def test_10m_titles_utf8_or_latin1(tmp_path):
    d = ds.write_release(FAKE, 'ml-10m', tmp_path/'utf8')
    assert 'Café' in (d/'movies.dat').read_text('utf-8')
    assert ds.load_dataset('ml-10m', d).title.iloc[0] == 'Café Society (1995)'
    (d/'movies.dat').write_bytes((d/'movies.dat').read_text('utf-8').encode('latin-1'))
    assert ds.load_dataset('ml-10m', d).title.iloc[0] == 'Café Society (1995)'

@pytest.mark.parametrize('name', ['ml-20m', 'ml-25m', 'ml-32m'])
def test_big_csv_releases(tmp_path, name):
    d = ds.write_release(FAKE, name, tmp_path)
    assert d == tmp_path/name and (d/'ratings.csv').read_text().startswith('userId,movieId,rating,timestamp\n1,10,4.5,978300760\n')
    r = ds.load_dataset(name, d)
    assert r.rating.tolist() == FAKE.rating.tolist() and r.title.tolist() == FAKE.title.tolist()
    assert r.timestamp.tolist() == FAKE.timestamp.tolist() and r.user.dtype == np.int32

def test_ml100k_through_load_ratings(ml100k):
    assert ds.get_dataset('ml-100k') == ml100k
    r = ds.load_dataset('ml-100k', ml100k)
    assert r.equals(load_ratings(ml100k)) and r.shape == (100_000, 5)

# --- what is wrong, and the fix

def test_wrong_layout_names_the_files(tmp_path):
    d = ds.write_release(WHOLE, 'ml-1m', tmp_path)
    (d/'README').write_text('x')
    with pytest.raises(DataError) as e: ds.load_dataset('ml-25m', d)
    msg = str(e.value)
    assert 'ratings.csv' in msg and 'movies.csv' in msg and 'holds README, movies.dat, ratings.dat' in msg
    assert 'files of ml-1m or ml-10m' in msg and '--data PATH' in msg
    with pytest.raises(DataError, match='has no u.data'): ds.get_dataset('ml-100k', tmp_path/'ml-1m')  # get_ml100k's own check
    (tmp_path/'empty').mkdir()
    with pytest.raises(DataError, match='but the folder holds nothing'): ds.check_layout('ml-1m', tmp_path/'empty')

@pytest.mark.parametrize('name,ratings,shown', [
    ('ml-1m', [4, 6, 0, 4.5], 'line 2: 6, line 3: 0, line 4: 4.5'),
    ('ml-25m', [4.5, 5.5, 5, 0], 'line 3: 5.5, line 5: 0.'),  # csv: line 1 is the header
])
def test_rating_out_of_scale(tmp_path, name, ratings, shown):
    d = ds.write_release(FAKE.assign(rating=ratings), name, tmp_path)
    with pytest.raises(DataError) as e: ds.load_dataset(name, d)
    msg = str(e.value)
    assert shown in msg and 'download' in msg
    allowed = '1, 2, 3, 4, 5' if name == 'ml-1m' else '0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5'
    assert f'({"whole stars 1-5" if name == "ml-1m" else "half stars 0.5-5"}: {allowed})' in msg

def test_missing_title_and_damaged_file(tmp_path):
    d = ds.write_release(WHOLE, 'ml-1m', tmp_path)
    (d/'movies.dat').write_text('10::Café Society (1995)::Drama\n', encoding='latin-1')
    with pytest.raises(DataError, match=r'2 ratings of 2 movies \(id 20, 30\) have no title'): ds.load_dataset('ml-1m', d)
    (d/'ratings.dat').write_text('1::10::4::978300760\n1::20\n')
    with pytest.raises(DataError, match="cannot be read as ml-1m's ratings.dat"): ds.load_dataset('ml-1m', d)

# --- archives and the download path

def test_local_archive_md5(tmp_path, home, monkeypatch):
    z = ds.write_release(WHOLE, 'ml-1m', tmp_path, archive=True)
    with pytest.raises(DataError) as e: ds.get_dataset('ml-1m', z)
    msg = str(e.value)
    assert f'its md5 is {md5sum(z)}, GroupLens publishes c4d9eecfca2ab87c1945afe126590906' in msg and str(z) in msg
    assert '--unverified' in msg and not (home/'data'/'ml-1m').exists()
    p = ds.get_dataset('ml-1m', z, verify=False)  # used knowingly
    assert ds.load_dataset('ml-1m', p).title.iloc[0] == 'Café Society (1995)'
    with pytest.raises(DataError, match='extracted from an archive with md5'): ds.get_dataset('ml-1m')  # never taken for the real one
    publish(monkeypatch, 'ml-1m', md5sum(z))
    assert ds.get_dataset('ml-1m', z) == p and ds.get_dataset('ml-1m') == p
    with pytest.raises(DataError, match='has no ml-10M100K/ratings.dat'): ds.get_dataset('ml-10m', z)
    (tmp_path/'bad.zip').write_bytes(b'not a zip')
    with pytest.raises(DataError, match='not a readable zip'): ds.get_dataset('ml-1m', tmp_path/'bad.zip')
    with pytest.raises(DataError, match='does not exist'): ds.get_dataset('ml-1m', tmp_path/'none.zip')

def test_latest_small_local_archive_has_no_md5_to_check(tmp_path, home):
    z = ds.write_release(FAKE, 'ml-latest-small', tmp_path, archive=True)
    assert ds.load_dataset('ml-latest-small', ds.get_dataset('ml-latest-small', z)).rating.tolist() == FAKE.rating.tolist()

def test_download_matching_md5(tmp_path, home, monkeypatch):
    z = ds.write_release(WHOLE, 'ml-1m', tmp_path/'src', archive=True)
    urls = fake_download(monkeypatch, z)
    publish(monkeypatch, 'ml-1m', md5sum(z))
    p = ds.get_dataset('ml-1m')
    assert urls == ['https://files.grouplens.org/datasets/movielens/ml-1m.zip']
    assert p == home/'data'/'ml-1m' and (home/'archive'/'ml-1m.zip').is_file()
    assert ds.load_dataset('ml-1m').rating.tolist() == WHOLE.rating.tolist()  # no path: get_dataset
    assert ds.get_dataset('ml-1m', download=False) == p and len(urls) == 1  # the extracted folder is reused
    shutil.rmtree(p)
    assert ds.get_dataset('ml-1m', download=False) == p and len(urls) == 1  # extracted again from fastai's archive folder

def test_download_tampered_md5(tmp_path, home, monkeypatch):
    z = ds.write_release(WHOLE, 'ml-1m', tmp_path/'src', archive=True)
    fake_download(monkeypatch, z)
    with pytest.raises(DataError) as e: ds.get_dataset('ml-1m')
    msg = str(e.value)
    assert f'its md5 is {md5sum(z)}, GroupLens publishes c4d9eecfca2ab87c1945afe126590906' in msg and 'deleted' in msg
    assert not (home/'archive'/'ml-1m.zip').exists() and not (home/'data'/'ml-1m').exists()
    assert ds.get_dataset('ml-1m', verify=False) == home/'data'/'ml-1m'

def test_download_latest_small_reads_the_md5_file(tmp_path, home, monkeypatch):
    z = ds.write_release(FAKE, 'ml-latest-small', tmp_path/'src', archive=True)
    fake_download(monkeypatch, z)
    with pytest.raises(DataError, match='could not read the published md5 of ml-latest-small .* --unverified'):
        ds.get_dataset('ml-latest-small')  # the home fixture has no network
    monkeypatch.setattr(ds, '_fetch_md5', REAL_FETCH_MD5)
    asked, published = [], [f'MD5 (ml-latest-small.zip) = {md5sum(z).upper()}\n']
    monkeypatch.setattr('fastcore.net.urlread', lambda url: asked.append(url) or published[0])
    fake_download(monkeypatch, z)
    assert ds.get_dataset('ml-latest-small') == home/'data'/'ml-latest-small'
    assert asked == ['https://files.grouplens.org/datasets/movielens/ml-latest-small.zip.md5']
    shutil.rmtree(home/'data'/'ml-latest-small')
    published[0] = f'{"0"*32}  ml-latest-small.zip\n'
    with pytest.raises(DataError, match=f'its md5 is {md5sum(z)}, GroupLens publishes {"0"*32}'): ds.get_dataset('ml-latest-small')

def test_no_network(home):
    with pytest.raises(DataError, match='could not download ml-25m .* give a local copy with --data PATH'): ds.get_dataset('ml-25m')
    with pytest.raises(DataError, match='downloading is off: give a local copy with --data PATH'): ds.get_dataset('ml-25m', download=False)
    assert not (home/'archive'/'ml-25m.zip').exists()

def test_ml100k_no_download(home, monkeypatch):
    monkeypatch.delenv('COLLAB_FASTAI_DATA', raising=False)
    with pytest.raises(DataError, match='ml-100k is not in fastai.s data folder and downloading is off'): ds.get_dataset('ml-100k', download=False)

# --- synthetic ratings

def test_synthetic_shape_dtypes_scale():
    s = ds.synthetic_ratings('ml-latest-small')
    assert (len(s), s.user.nunique(), s.movie.nunique()) == (100_836, 610, 9_724)
    assert list(s.columns) == ['user', 'movie', 'rating', 'timestamp', 'title']
    assert s.dtypes.astype(str).tolist() == ['int32', 'int32', 'float32', 'int64', 'category']
    assert set(s.rating.unique()) <= set(np.arange(1, 11)/2) and (s.rating % 1 == .5).any()
    assert not s.duplicated(['user', 'movie']).any()
    assert s.user.value_counts().min() >= 20 and s.user.is_monotonic_increasing
    assert (s.title.cat.codes.to_numpy() == s.movie.to_numpy() - 1).all()
    w = ds.synthetic_ratings('ml-1m', n_ratings=50_000, n_users=800, n_items=900, seed=3)
    assert (len(w), w.user.nunique(), w.movie.nunique()) == (50_000, 800, 900) and set(w.rating.unique()) == {1, 2, 3, 4, 5}
    assert ds.synthetic_ratings(n_ratings=3_000, seed=2).equals(ds.synthetic_ratings(n_ratings=3_000, seed=2))
    assert not ds.synthetic_ratings(n_ratings=3_000, seed=2).equals(ds.synthetic_ratings(n_ratings=3_000, seed=3))

def test_synthetic_skew_and_signal():
    s = ds.synthetic_ratings('ml-100k')
    pop, act = s.movie.value_counts(), s.user.value_counts()
    assert .4 < pop.iloc[0]/943 < .7 and .4 < act.iloc[0]/1682 < .7  # about half, as in MovieLens
    assert pop.iloc[:17].mean() > 3*pop.mean() and pop.iloc[:170].mean() > 4*pop.iloc[-170:].mean()  # top 1% and 10%, bottom 10%
    flat = ds.synthetic_ratings('ml-100k', skew=.05)
    assert flat.movie.value_counts().iloc[0] < pop.iloc[0]/3
    halves = s.assign(h=s.groupby('user').cumcount() % 2).pivot_table('rating', 'user', 'h')
    assert halves[0].corr(halves[1]) > .5  # users' biases are learnable
    items = s.assign(h=s.groupby('movie').cumcount() % 2).pivot_table('rating', 'movie', 'h')
    assert items[0].corr(items[1]) > .3  # and movies'
    assert 3.2 < s.rating.mean() < 3.9 and .8 < s.rating.std() < 1.2

def test_synthetic_arguments():
    with pytest.raises(UsageError, match='over half of all pairs'): ds.synthetic_ratings(n_ratings=100, n_users=10, n_items=10)
    with pytest.raises(UsageError, match='must be positive'): ds.synthetic_ratings(n_ratings=0)
    with pytest.raises(UsageError, match='skew'): ds.synthetic_ratings(skew=1.5)
    few = ds.synthetic_ratings(n_ratings=100)  # fewer ratings than movies: only the rated ones are titles
    assert len(few.title.cat.categories) == few.movie.nunique() <= 100

def test_synthetic_round_trip_through_the_files(tmp_path):
    s = ds.synthetic_ratings('ml-1m', n_ratings=20_000, n_users=300, n_items=500)
    for name in ('ml-1m', 'ml-25m'):
        r = ds.load_dataset(name, ds.write_release(s, name, tmp_path/name))
        assert r.drop(columns='title').equals(s.drop(columns='title')) and (r.title.astype(str) == s.title.astype(str)).all()
