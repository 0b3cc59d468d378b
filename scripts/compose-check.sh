#!/usr/bin/env bash
# Checks deploy/compose.yaml without a container engine: podman-compose parses
# and resolves it (anchors, .env interpolation), the compose-spec JSON schema
# validates it, and the wiring qmkeys depends on is asserted: the proxy's
# fixed address is the instances' only trusted proxy and lies in the network's
# subnet, both instances share one Redis with appendonly, and secrets come
# from the env file.
#
# Tools live in a virtualenv under target/ (podman-compose and jsonschema from
# PyPI; the schema is the one docker-compose 1.29.2 ships, read from its wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/compose-venv
if [ ! -x "$venv/bin/podman-compose" ] || [ ! -f "$venv/compose_spec.json" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check podman-compose==1.6.0 jsonschema==4.26.0
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps docker-compose==1.29.2 -d "$venv/wheels"
  "$venv/bin/python" - "$venv" <<'PY'
import glob, sys, zipfile
venv = sys.argv[1]
wheel = glob.glob(f"{venv}/wheels/docker_compose-1.29.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(f"{venv}/compose_spec.json", "wb") as out:
    out.write(z.read("compose/config/compose_spec.json"))
PY
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r deploy "$work/deploy"
cp deploy/.env.example "$work/deploy/.env"
(cd "$work/deploy" && "$OLDPWD/$venv/bin/podman-compose" -f compose.yaml config) >"$work/resolved.yaml"

"$venv/bin/python" - "$venv/compose_spec.json" deploy/compose.yaml "$work/resolved.yaml" deploy/.env.example <<'PY'
import ipaddress, json, re, sys
import jsonschema, yaml

schema_path, raw_path, resolved_path, env_path = sys.argv[1:]
schema = json.load(open(schema_path))
# The top-level project `name` joined the spec after this 2021 schema.
schema["properties"].setdefault("name", {"type": "string"})
raw = yaml.safe_load(open(raw_path))
resolved = yaml.safe_load(open(resolved_path))
problems = []
for name, doc in (("as written", raw), ("as resolved", resolved)):
    validator = jsonschema.Draft7Validator(schema)
    for err in validator.iter_errors(doc):
        problems.append(f"{name}: {'/'.join(map(str, err.path))}: {err.message}")

services = resolved["services"]
instances = [n for n, s in services.items() if "qmkeys" in str(s.get("image", "")) and n != "proxy"]
if len(instances) != 2:
    problems.append(f"expected two qmkeys instances, found {instances}")
subnet = ipaddress.ip_network(resolved["networks"]["qmkeys"]["ipam"]["config"][0]["subnet"])
proxy_ip = ipaddress.ip_address(services["proxy"]["networks"]["qmkeys"]["ipv4_address"])
if proxy_ip not in subnet:
    problems.append(f"the proxy's {proxy_ip} is outside {subnet}")
for name in instances:
    env = services[name].get("environment", {})
    trusted = [ipaddress.ip_network(t.strip()) for t in env.get("QMKEYS_TRUSTED_PROXIES", "").split(",") if t.strip()]
    if not trusted or not all(proxy_ip in t and t.subnet_of(subnet) for t in trusted):
        problems.append(f"{name}: trusted_proxies {trusted} must hold the proxy {proxy_ip}, within {subnet}")
    if env.get("QMKEYS_REDIS_URL") != "redis://redis:6379/":
        problems.append(f"{name}: not on the shared Redis")
    if ".env" not in str(services[name].get("env_file")):
        problems.append(f"{name}: secrets must come from the env file")
    if any(k in env for k in ("QMKEYS_SECRET_KEY", "QMKEYS_ADMIN_TOKEN")):
        problems.append(f"{name}: a secret is written in compose.yaml")
    if "redis" not in services[name].get("depends_on", {}):
        problems.append(f"{name}: does not wait for Redis")
if "--appendonly" not in services["redis"]["command"] or "yes" not in services["redis"]["command"]:
    problems.append("redis runs without appendonly")
if not any("nginx.conf" in str(v) for v in services["proxy"].get("volumes", [])):
    problems.append("the proxy does not mount deploy/nginx.conf")
nginx = open(re.sub(r"compose\.yaml$", "nginx.conf", raw_path)).read()
for name in instances:
    if f"server {name}:8080" not in nginx:
        problems.append(f"nginx.conf does not send requests to {name}")
names = re.findall(r"^#?\s*(QMKEYS_[A-Z_]+)=", open(env_path).read(), re.M)
if "QMKEYS_SECRET_KEY" not in names:
    problems.append(".env.example does not show QMKEYS_SECRET_KEY")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"valid against the compose-spec schema; {len(instances)} instances, one Redis, "
      f"proxy {proxy_ip} trusted within {subnet}")
PY
