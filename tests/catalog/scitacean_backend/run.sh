#!/bin/bash
# scitacean's real-backend tests (tests/client, tests/model_test.py) against a fresh hub on localhost:3000.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
WORK="${1:-/tmp/halric-scitacean}"
VERSION="${SCITACEAN_VERSION:-26.10.1}"
mkdir -p "$WORK"
cd "$WORK"
if [ ! -d "scitacean-$VERSION" ]; then
  "$REPO/.venv/bin/pip" download -q --no-deps --no-binary :all: "scitacean==$VERSION"
  tar xzf "scitacean-$VERSION.tar.gz"
fi
if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
  venv/bin/pip install -q "scitacean==$VERSION" pytest filelock paramiko pyfakefs pytest-randomly \
    pytest-socket pytest-xdist pyyaml hypothesis
fi
SRC="$WORK/scitacean-$VERSION"
# copies of the tests scitacean skips for the real SciCat, with the skips removed
python3 - "$SRC" <<'PY'
import re, sys
t = sys.argv[1] + "/tests/client/"
q = open(t + "query_client_test.py").read().replace("pytestmark = pytest.mark.skip(", "_was_skipped = (")
open(t + "query_unskipped_test.py", "w").write(q)
p = open(t + "proposal_client_test.py").read().replace(
    '    pytest.skip("No available user can create proposals.")',
    "    skip_if_not_backend(request)\n    return Client.from_credentials(url=ingestor_access.url, allow_http=True, "
    "**ingestor_access.user.credentials)",
).replace("from scitacean.testing.backend import config as backend_config",
          "from scitacean.testing.backend import config as backend_config, skip_if_not_backend")
open(t + "proposal_unskipped_test.py", "w").write(p)
a = open(t + "attachment_client_test.py").read()
a = re.sub(r'    if not isinstance\(scicat_client, FakeScicatClient\):\n        pytest.skip\(\n.*?\n.*?\n        \)\n', "", a)
a = a.replace('@pytest.mark.skip("https://github.com/SciCatProject/scicat-backend-next/issues/2254")', "")
open(t + "attachment_unskipped_test.py", "w").write(a)
PY
rm -rf data && mkdir data
export HALRIC_DATA_DIR="$WORK/data" HALRIC_DATABASE_URL="sqlite:///$WORK/data/halric.db" HALRIC_CATALOG_PID_PREFIX=PID.prefix.a0b1
"$REPO/.venv/bin/python" "$HERE/setup_hub.py" "$HALRIC_DATABASE_URL"
# scitacean's backend fixtures expect the backend on localhost:3000: refuse to test whatever else is there
if curl -s -o /dev/null --max-time 2 http://localhost:3000/; then
  echo "run.sh: something already listens on localhost:3000; stop it first" >&2
  exit 2
fi
"$REPO/.venv/bin/halric" serve --host 127.0.0.1 --port 3000 > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 100); do curl -sf http://localhost:3000/healthz > /dev/null && break; sleep 0.2; done
cd "$SRC"
PYTHONPATH="$HERE" "$WORK/venv/bin/python" -m pytest --backend-tests -p hubplugin tests/client tests/model_test.py \
  -p no:randomly -q -rs -o addopts="--strict-markers --hypothesis-profile=scitacean" \
  -W error -W "ignore:Cannot check if local file:UserWarning"
