# Drives N sequential requests on one keep-alive connection for bench/instructions.sh:
# cc (client_credentials), refresh (each response's refresh token is the next request's), or
# sso (one login through the forms, then N code flows: authorize with the session's cookies,
# 303 with a code, POST /token with PKCE; one "request" is one whole flow).
import base64, hashlib, http.client, json, os, re, sys
from urllib.parse import urlencode, urlsplit, parse_qs
kind, port, basic, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
token = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != '-' else None
state_file = sys.argv[6] if len(sys.argv) > 6 else None
if token and token.startswith('@'):
    token = open(token[1:]).read().strip()
c = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
h = {'Authorization': 'Basic ' + basic, 'Content-Type': 'application/x-www-form-urlencoded'}
REDIRECT = 'http://127.0.0.1/cb'
# sso: the session's cookies, carried from the warm-up run so the measured one does not log in.
cookies = json.loads(token) if kind == 'sso' and token else {}

def send(method, path, body=None, headers=None):
    headers = dict(headers or {})
    if cookies:
        headers['Cookie'] = '; '.join(f'{k}={v}' for k, v in cookies.items())
    c.request(method, path, body, headers)
    r = c.getresponse(); data = r.read()
    for name, value in r.getheaders():
        if name.lower() == 'set-cookie':
            k, _, v = value.split(';', 1)[0].partition('=')
            cookies[k.strip()] = v.strip()
    return r, data

def hidden(html, name):
    m = re.search(f'name="{name}" value="([^"]*)"', html)
    if not m:
        sys.exit(f'no {name} in page: {html[:200]}')
    return m.group(1)

def authorize():
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b'=').decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
    client_id = base64.b64decode(basic).decode().split(':', 1)[0]
    path = '/authorize?' + urlencode({'response_type': 'code', 'client_id': client_id,
        'redirect_uri': REDIRECT, 'scope': 'openid', 'state': 'st', 'code_challenge': challenge,
        'code_challenge_method': 'S256'})
    for _ in range(8):
        r, data = send('GET', path)
        if r.status == 200:  # a login or consent form: fill it in
            html = data.decode()
            page = urlsplit(path).path
            form = {'csrf_token': hidden(html, 'csrf_token'), 'request_id': hidden(html, 'request_id')}
            form.update({'username': 'bench', 'password': 'bench-password'} if page == '/login'
                        else {'decision': 'allow'})
            r, data = send('POST', page, urlencode(form), {'Content-Type': 'application/x-www-form-urlencoded'})
        if r.status not in (302, 303):
            sys.exit(f'authorize: {r.status} {data[:200]}')
        location = r.getheader('Location')
        if location.startswith(REDIRECT):
            code = parse_qs(urlsplit(location).query)['code'][0]
            return code, verifier
        parts = urlsplit(location)
        path = parts.path + ('?' + parts.query if parts.query else '')
    sys.exit('authorize: too many redirects')

for i in range(n):
    if kind == 'sso':
        code, verifier = authorize()
        body = urlencode({'grant_type': 'authorization_code', 'code': code,
                          'redirect_uri': REDIRECT, 'code_verifier': verifier})
    elif kind == 'cc':
        body = 'grant_type=client_credentials'
    else:
        body = 'grant_type=refresh_token&refresh_token=' + token
    c.request('POST', '/token', body, h)
    r = c.getresponse(); data = r.read()
    if r.status != 200:
        sys.exit(f'request {i}: {r.status} {data[:200]}')
    if kind == 'refresh':
        token = json.loads(data)['refresh_token']
if state_file and kind == 'sso':
    open(state_file, 'w').write(json.dumps(cookies))
elif state_file and token:
    open(state_file, 'w').write(token)
