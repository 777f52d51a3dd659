# Drives N sequential requests on one keep-alive connection for bench/instructions.sh:
# cc (client_credentials) or refresh (each response's refresh token is the next request's).
import base64, http.client, json, sys
kind, port, basic, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
token = sys.argv[5] if len(sys.argv) > 5 else None
state_file = sys.argv[6] if len(sys.argv) > 6 else None
if token and token.startswith('@'):
    token = open(token[1:]).read().strip()
c = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
h = {'Authorization': 'Basic ' + basic, 'Content-Type': 'application/x-www-form-urlencoded'}
for i in range(n):
    body = 'grant_type=client_credentials' if kind == 'cc' else 'grant_type=refresh_token&refresh_token=' + token
    c.request('POST', '/token', body, h)
    r = c.getresponse(); data = r.read()
    if r.status != 200:
        sys.exit(f'request {i}: {r.status} {data[:200]}')
    if kind == 'refresh':
        token = json.loads(data)['refresh_token']
if state_file and token:
    open(state_file, 'w').write(token)
