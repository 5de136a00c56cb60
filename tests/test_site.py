"For teachers and students: `make lab` serves the notebooks; the site of `make docs` (its sections, search, links), checked in headless Chromium; the README made from nbs/index.ipynb."
import html.parser, json, os, re, secrets, shutil, signal, socket, subprocess, threading, time, urllib.error, urllib.request
from pathlib import Path
import pytest
from collab_fastai.tools.docs import build_docs, chromium, chromium_args, readme_md

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')

def test_the_readme_is_made_from_the_index_notebook():
    "README.md is what `make readme` makes of nbs/index.ipynb (as `make check-readme` checks): edit the notebook, then `make readme`"
    assert (ROOT/'README.md').read_text() == readme_md(ROOT/'nbs/index.ipynb')

def _free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _get(url:str, timeout:float=10):
    with urllib.request.urlopen(url, timeout=timeout) as r: return r.status, r.read()

def test_make_lab_serves_the_notebooks_on_loopback(tmp_path):
    if not (ROOT/'.venv/bin/python').exists(): pytest.skip('make lab runs from the repository with its .venv')
    port,token = _free_port(),secrets.token_hex(12)
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path/'data'), JUPYTER_CONFIG_DIR=str(tmp_path/'config'),
               JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'))  # the kernel registration and server state stay in tmp_path
    p = subprocess.Popen(['make', '--no-print-directory', 'lab', f'LAB_PORT={port}', f'LAB_TOKEN={token}'], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = []
    try:
        threading.Thread(target=lambda: out.extend(p.stdout), daemon=True).start()
        base = f'http://127.0.0.1:{port}'
        for _ in range(240):  # JupyterLab starts in a few seconds; wait up to 2 minutes on a loaded machine
            if p.poll() is not None: pytest.fail(f"make lab exited with {p.returncode}:\n{''.join(out)}")
            try:
                if _get(f'{base}/api/status?token={token}', 2)[0] == 200: break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"JupyterLab did not answer on port {port}:\n{''.join(out)}")
        assert any(f'http://127.0.0.1:{port}/lab?token=' in l for l in out), ''.join(out)  # the address a student opens
        status,body = _get(f'{base}/api/contents/10_chapter.ipynb?token={token}')
        nb = json.loads(body)
        assert status == 200 and nb['type'] == 'notebook'
        assert nb['content']['cells'][0]['source'].startswith('# Collaborative filtering deep dive')
        assert _get(f'{base}/lab?token={token}')[0] == 200
        specs = json.loads(_get(f'{base}/api/kernelspecs?token={token}')[1])['kernelspecs']
        assert specs['collab-fastai']['spec']['argv'][0] == str(ROOT/'.venv/bin/python')
        with pytest.raises(urllib.error.HTTPError, match='403'): _get(f'{base}/api/contents/10_chapter.ipynb')  # no token, no notebook
        ip = next((a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET) if not a[4][0].startswith('127.')), None)
        if ip:  # loopback only: nothing answers on this machine's other address
            with pytest.raises(OSError): socket.create_connection((ip, port), timeout=2).close()
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(30)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)

@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    "Headless Chromium driven by selenium through Debian's chromedriver"
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
    opts.add_argument('--window-size=1280,1600')
    b = webdriver.Chrome(options=opts, service=Service(driver))
    yield b
    b.quit()

@pytest.fixture(scope='module')
def site(tmp_path_factory, ml100k, ci_runs):
    "The chapter and a notebook of the core built as `make docs` builds them (the chapter's training cells run), with the home page"
    out = tmp_path_factory.mktemp('site')
    with ci_runs(): return build_docs(out, only=['03_models', '10_chapter'], echo=lambda s: None)

def _wait(find, seconds=20):
    for _ in range(int(seconds*4)):
        if (found := find()): return found
        time.sleep(0.25)
    return find()

@pytest.mark.slow
def test_the_chapters_page_shows_the_tables_and_the_pictures(site, browser):
    "Opened from the folder (file://), as a teacher who was given the site on a USB stick opens it"
    res = site
    assert res['pages'] == ['03_models', '10_chapter'] and res['screenshot'].stat().st_size > 50_000
    browser.get((res['out']/'10_chapter.html').as_uri())
    assert browser.find_element('css selector', 'article h1').text.startswith('Collaborative filtering deep dive')
    headers = browser.execute_script("return [...document.querySelectorAll('article table')].map(t => [...t.querySelectorAll('th')].map(h => h.textContent.trim()))")
    book_tables = [h for h in headers if {'train_loss', 'book_train', 'valid_loss', 'book_valid'} <= set(h)]
    chapter = json.loads((ROOT/'nbs/10_chapter.ipynb').read_text())
    n_checked = sum(len(re.findall(r'^check_with_book\(', ''.join(c['source']), re.M)) for c in chapter['cells'] if c['cell_type'] == 'code')
    assert n_checked >= 7 and len(book_tables) == n_checked, headers  # a table beside the book's after every run it checks
    imgs = browser.execute_script("return [...document.querySelectorAll('article img')].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(imgs) >= 3 and all(c and w > 100 and h > 100 for c,w,h in imgs), imgs  # two loss plots and the PCA map, all decoded
    errors = browser.execute_script("return document.querySelectorAll('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]').length")
    assert errors == 0 and 'Traceback' not in browser.page_source
    # the sidebar's sections, "Start here" first, and the page's table of contents
    sections = [e.get_attribute('textContent').strip() for e in browser.find_elements('css selector', '.md-nav--primary .md-nav__item--section > label')]
    assert sections == ['Start here', "The chapter's core", 'The chapter'], sections
    toc = [e.get_attribute('textContent').strip() for e in browser.find_elements('css selector', '.md-nav--secondary a')]
    assert {'Creating the DataLoaders', 'Weight decay', 'Deep learning for collaborative filtering'} <= set(toc), toc
    # the search, offline: its index ships with the site and its worker runs from the folder
    box = browser.find_element('css selector', 'input.md-search__input')
    box.click(); box.send_keys('weight decay')
    hits = _wait(lambda: [a.get_attribute('href') for a in browser.find_elements('css selector', '.md-search-result__item a')])
    assert any('/10_chapter.html' in h and '#weight-decay' in h for h in hits), hits
    browser.get((res['out']/'10_chapter.html').as_uri())
    # the sidebar's link, not the phone menu's; waited for, as the page may still be laying out under a loaded machine
    visible = lambda css: _wait(lambda: next((e for e in browser.find_elements('css selector', css) if e.is_displayed()), None))
    visible('.md-nav--primary a[href="index.html"]').click()
    assert 'Two commands' in browser.find_element('tag name', 'article').text  # the home page is nbs/index.ipynb, the README's source
    visible('.md-nav--primary a[href="10_chapter.html"]').click()
    assert browser.current_url.endswith('/10_chapter.html')

class _Links(html.parser.HTMLParser):
    "The links (href, src) and the ids of a page, as a browser reads its tags (not the text of its code cells)"
    def __init__(self, text):
        super().__init__(); self.links,self.ids,self.loads = [],set(),[]
        self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        for k in ('href', 'src'):
            if a.get(k): self.links.append(a[k])
        url = a.get('src') or (a.get('href') if tag == 'link' else None)  # what the page loads, not where it links to
        if url and re.match(r'(?:https?:)?//', url): self.loads.append(url)

def check_links(out:Path)->int:
    "Every link of the site in `out` leads to a file of the site, and to an id of the page it names; nothing loaded from the internet"
    pages,checked = {p: _Links(p.read_text()) for p in out.rglob('*.html')},0
    for page,parsed in pages.items():
        assert not parsed.loads, (page.name, parsed.loads)
        for url in parsed.links:
            if re.match(r'(?:https?:|mailto:|data:|javascript:)', url): continue
            path,_,frag = url.partition('#')
            target = (page.parent/path.split('?')[0]).resolve() if path else page
            assert target.is_file(), f"{page.name}: {url}"
            if frag and target.suffix == '.html': assert frag in pages[target].ids, f"{page.name}: {url}"
            checked += 1
    return checked

@pytest.mark.slow
def test_no_link_of_the_site_is_broken_and_nothing_comes_from_the_internet(site):
    assert check_links(site['out']) > 100
