"The page of `collab-fastai app` (47_app): sessions that never mix, every bad input a message, 30 people at once, and a person in Chromium."
import os, shutil, socket, sys, threading, time, types
from pathlib import Path
import pytest, torch
from starlette.testclient import TestClient
from collab_fastai.tools.docs import chromium, chromium_args
from collab_fastai.experiments import run_experiment
from collab_fastai.teach.recommend import Recommender, MAX_RATINGS
from collab_fastai.teach.app import *

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
SHOTS = Path(os.environ.get('COLLAB_FASTAI_SHOTS', ROOT/'tmp'/'out'))  # where the browser test keeps its screenshot

@pytest.fixture(scope='module')
def small(synthetic_ratings):
    learn = run_experiment('collab_learner', synthetic_ratings, epochs=1, bar=False, echo=lambda e: None).learn
    return Recommender(learn), map_frame(learn, synthetic_ratings, n_top=30)

@pytest.fixture
def web(small):
    rec,frame = small
    return make_app(rec, frame, n=5)

def _client(app): return TestClient(app, follow_redirects=False)

def test_each_session_has_its_own_ratings(small, web):
    rec,_ = small
    a,b = _client(web),_client(web)
    a.post('/rate', data=dict(title=rec.titles[1], rating='5')); a.post('/rate', data=dict(title=rec.titles[2], rating='1'))
    b.post('/rate', data=dict(title=rec.titles[3], rating='4'))
    ra,rb = a.get('/api').json(),b.get('/api').json()
    assert ra['ratings'] == {rec.titles[1]: 5.0, rec.titles[2]: 1.0} and rb['ratings'] == {rec.titles[3]: 4.0}
    assert [r['title'] for r in ra['recommendations']] == list(rec.recommend(ra['ratings'], n=5).title)
    assert [r['title'] for r in rb['recommendations']] == list(rec.recommend(rb['ratings'], n=5).title)
    assert _client(web).get('/api').json()['ratings'] == {}  # a new browser starts empty
    a.cookies.clear()  # the same browser without its cookie is a new session
    assert a.get('/api').json()['ratings'] == {}

def test_the_page_shows_ratings_recommendations_and_the_map(small, web):
    rec,_ = small
    c = _client(web)
    c.post('/rate', data=dict(title=rec.titles[1], rating='4.5'))
    page = c.get('/', params=dict(q=rec.titles[2].rsplit(' (', 1)[0])).text
    assert 'id="rated"' in page and 'id="recs"' in page and 'id="map"' in page and '<script src="/plotly.min.js">' in page
    assert f'data-title="{rec.recommend({rec.titles[1]: 4.5}, n=5).title[0]}"' in page
    assert 'https://' not in page and 'http://' not in page  # nothing loaded from the internet
    assert c.get('/plotly.min.js').content == PLOTLY_JS.read_bytes()

def test_the_same_film_twice_the_last_stands(small, web):
    rec,_ = small
    c = _client(web)
    for r in ('5', '2', '3.5'): c.post('/rate', data=dict(title=rec.titles[4].upper(), rating=r))
    assert c.get('/api').json()['ratings'] == {rec.titles[4]: 3.5}

def test_no_ratings_recommends_by_bias_and_says_so(small, web):
    rec,_ = small
    got = _client(web).get('/api').json()
    assert got['note'].startswith('no ratings yet') and [r['title'] for r in got['recommendations']] == list(rec.recommend([], n=5).title)
    assert 'no ratings yet' in _client(web).get('/').text

@pytest.mark.parametrize('data,status,msg', [
    (dict(title='Flim 3', rating='4'), 400, 'Closest: Film 3 (1953)'),
    (dict(title='Film 3 (1953)', rating='0'), 400, 'give a number from 0.5 to 5'),
    (dict(title='Film 3 (1953)', rating='5.5'), 400, 'give a number from 0.5 to 5'),
    (dict(title='Film 3 (1953)', rating='a lot'), 400, 'give a number from 0.5 to 5'),
    (dict(title='Film 3 (1953)'), 400, 'give a number from 0.5 to 5'),
    ({}, 400, 'without a title'),
    (dict(title='y'*400, rating='4'), 400, 'at most 300'),
    (dict(title='x'*20_000, rating='4'), 413, 'too large'),
    ({f'f{i}': 'v'*30 for i in range(1000)}, 413, 'too large'),
])
def test_bad_input_is_a_message_not_a_crash(web, data, status, msg):
    c = _client(web)
    r = c.post('/rate', data=data)
    assert r.status_code == status and msg in r.text and 'Traceback' not in r.text, r.text[:500]
    assert c.get('/api').json()['ratings'] == {}  # nothing of it kept

def test_too_many_ratings(small, web, monkeypatch):
    rec,_ = small
    import collab_fastai.teach.app as ta
    monkeypatch.setattr(ta, 'MAX_RATINGS', 2)
    c = _client(web)
    for t in rec.titles[1:3]: assert c.post('/rate', data=dict(title=t, rating='4')).status_code == 303
    r = c.post('/rate', data=dict(title=rec.titles[3], rating='4'))
    assert r.status_code == 400 and 'at most 2' in r.text
    assert c.post('/rate', data=dict(title=rec.titles[1], rating='1')).status_code == 303  # a film already rated may be rated again

def test_a_search_that_finds_nothing_says_so(web):
    assert 'No title matches' in _client(web).get('/', params=dict(q='qqqq zzzz')).text
    assert _client(web).get('/', params=dict(q='z'*5000)).status_code == 200  # a long search is cut, not an error

def test_host_warning():
    assert host_warning('127.0.0.1', 8000) is None and host_warning('localhost', 80) is None
    assert 'no password' in host_warning('0.0.0.0', 8000) and 'port 8000' in host_warning('0.0.0.0', 8000)

def test_app_command_bad_arguments(cli, tmp_path):
    code,_,err = cli('app', '--port', '0')
    assert code == 2 and '--port must be from 1 to 65535' in err
    old = types.ModuleType('collab_fastai_old'); sys.modules['collab_fastai_old'] = old
    class OldModel: pass
    OldModel.__module__,OldModel.__qualname__ = 'collab_fastai_old','OldModel'; old.OldModel = OldModel
    torch.save(OldModel(), tmp_path/'old.pkl'); del sys.modules['collab_fastai_old']
    code,_,err = cli('app', '--model', str(tmp_path/'old.pkl'))
    assert code == 2 and 'another version' in err and 'Traceback' not in err

class _Serve:
    "A FastHTML app served by uvicorn in a thread of this process, on a free loopback port"
    def __init__(self, app):
        import uvicorn
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=self.port, log_level='error'))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            if self.server.started: return f'http://127.0.0.1:{self.port}'
            time.sleep(0.05)
        raise RuntimeError('uvicorn did not start')
    def __exit__(self, *a):
        self.server.should_exit = True; self.thread.join(10)

class _OneSessionForAll(Sessions):
    "A broken store: every browser gets the same session (what the load test must catch)"
    def id(self, sess): return 'everyone'

def test_the_load_test_catches_mixed_sessions(small):
    rec,frame = small
    with _Serve(make_app(rec, frame, sessions=_OneSessionForAll())) as url:
        res = load_test(url, rec, sessions=3, n_rate=2, deadline=120)
    assert res['errors'] == [] and len(res['not_own']) >= 2
    with _Serve(make_app(rec, frame)) as url:
        res = load_test(url, rec, sessions=3, n_rate=2, deadline=120)
    assert res['errors'] == [] and res['not_own'] == [] and res['requests'] == 3*(1+3*2+1)

# The real model, served by `collab-fastai app` in its own process

@pytest.fixture(scope='module')
def chapter(ratings, ci_runs, tmp_path_factory):
    "The chapter's collab_learner (book profile, seed 1), saved for the server, and its Recommender"
    with ci_runs(): learn = run_experiment('collab_learner', ratings, 'book', seed=1, reuse=True, bar=False, echo=lambda e: None).learn
    f = tmp_path_factory.mktemp('model')/'collab_learner.pkl'
    learn.export(f)
    return f, Recommender(learn)

@pytest.fixture(scope='module')
def server(chapter, real_zip):
    p,url = start_server(chapter[0], real_zip)
    yield url
    stop_server(p)

@pytest.mark.slow
def test_thirty_people_at_once(server, chapter):
    "30 sessions at once each rate 10 films and ask for recommendations: no error, each given its own (the speed is `make bench`'s)"
    res = load_test(server, chapter[1], sessions=30, n_rate=10, timeout=120, deadline=900)
    assert res['errors'] == [], res['errors'][:5]
    assert res['not_own'] == [] and res['requests'] == 30*(1+3*10+1)

@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    "Headless Chromium driven by selenium through Debian's chromedriver (as tests/test_site.py)"
    exe,driver = chromium(),shutil.which('chromedriver')
    if not (exe and driver):
        msg = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if IN_CI: pytest.fail(msg)
        pytest.skip(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = exe
    for a in chromium_args(tmp_path_factory.mktemp('profile')): opts.add_argument(a)
    opts.add_argument('--window-size=1400,1300')
    b = webdriver.Chrome(options=opts, service=Service(driver))
    yield b
    b.quit()

@pytest.mark.slow
def test_a_person_in_chromium(server, chapter, browser, ratings):
    "Search and rate 10 films, get recommendations that exclude them, hover the map; a screenshot kept"
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from selenium.webdriver.support import expected_conditions as EC
    rec,b = chapter[1],browser
    wait = WebDriverWait(b, 60)
    counts = ratings.groupby('title').size().sort_values(ascending=False, kind='stable')
    films = [t for t in counts.index if t in rec.index][:10]
    b.get(server)
    assert 'no ratings yet' in b.find_element('id', 'note').text
    for i,t in enumerate(films):
        box = b.find_element('id', 'q'); box.clear(); box.send_keys(t.rsplit(' (', 1)[0].lower())  # as a person types it
        old = b.find_element('tag name', 'html'); b.find_element('id', 'search').click(); wait.until(EC.staleness_of(old))
        row = next(r for r in b.find_elements('css selector', 'tr.hit') if r.find_element('tag name', 'td').text == t)
        Select(row.find_element('name', 'rating')).select_by_value(str(5 - i % 5))
        old = b.find_element('tag name', 'html'); row.find_element('tag name', 'button').click(); wait.until(EC.staleness_of(old))
        assert not b.find_elements('id', 'error')
    rated = [r.find_element('tag name', 'td').text for r in b.find_elements('css selector', 'tr.rated')]
    assert rated == films
    recs = [r.get_attribute('data-title') for r in b.find_elements('css selector', 'tr.rec')]
    assert len(recs) == 10 and not set(recs) & set(films)
    assert recs == list(rec.recommend({t: float(5 - i % 5) for i,t in enumerate(films)}, n=10).title)
    assert 'from your 10 ratings' in b.find_element('id', 'note').text
    # the map: three traces drawn (the films, yours, the recommended); hovering a recommended point shows its title
    wait.until(lambda d: len(d.find_elements('css selector', '#map .scatterlayer .trace')) == 3)
    stars = b.find_elements('css selector', '#map .scatterlayer .trace:nth-of-type(3) .point')
    assert len(stars) == 10
    b.execute_script("arguments[0].scrollIntoView({block: 'center'})", stars[0])
    ActionChains(b).move_to_element(stars[0]).perform()
    hover = wait.until(lambda d: [e.text for e in d.find_elements('css selector', '#map .hoverlayer .hovertext')] or None)
    assert any(r in h for h in hover for r in recs), hover
    SHOTS.mkdir(parents=True, exist_ok=True)
    b.save_screenshot(str(SHOTS/'app.png'))
    assert (SHOTS/'app.png').stat().st_size > 50_000
    # a bad input in the browser: a message on the page, the ratings kept
    box = b.find_element('id', 'q'); box.clear(); box.send_keys('qqqq zzzz')
    old = b.find_element('tag name', 'html'); b.find_element('id', 'search').click(); wait.until(EC.staleness_of(old))
    assert 'No title matches' in b.page_source and len(b.find_elements('css selector', 'tr.rated')) == 10
