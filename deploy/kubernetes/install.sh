#!/usr/bin/env bash
# Installs ArrestCast on a Kubernetes cluster (kubectl's current context), beside OpenFaaS:
#   1. OpenFaaS (openfaas chart, openfaas-values.yaml) and the cron-connector (its chart);
#   2. the secrets (generated once into deploy/kubernetes/secrets/, mode 0600), MinIO and
#      PostgreSQL (kubectl apply -k);
#   3. the functions: `faas-cli up -f stack.yml` (build, push to REGISTRY, deploy), then `setup`.
# Re-running it is safe: existing secrets are kept, the rest is applied again.
# Needs: kubectl, helm, faas-cli, docker (or another builder faas-cli drives), REGISTRY (pushed
# to and pulled from by the cluster), optional SOCRATA_APP_TOKEN.
# Run from the repository root: REGISTRY=ghcr.io/you deploy/kubernetes/install.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${REGISTRY:?set REGISTRY to the image registry faas-cli pushes to (the cluster pulls from it)}"
K=deploy/kubernetes
for tool in kubectl helm faas-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is missing"; exit 1; }
done

# 1. OpenFaaS and the cron-connector.
kubectl apply -f https://raw.githubusercontent.com/openfaas/faas-netes/master/namespaces.yml
helm repo add openfaas https://openfaas.github.io/faas-netes/ >/dev/null
helm repo update openfaas >/dev/null
helm upgrade --install openfaas openfaas/openfaas -n openfaas -f $K/openfaas-values.yaml
helm upgrade --install cron-connector openfaas/cron-connector -n openfaas -f $K/cron-connector-values.yaml
kubectl -n openfaas rollout status deploy/gateway --timeout=5m

# 2. Secrets: generated once, values only ever in files (never on a command line).
umask 077
mkdir -p $K/secrets
gen() { [ -s "$K/secrets/$1" ] || head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$K/secrets/$1"; }
[ -s $K/secrets/arrestcast-minio-access-key ] || printf 'arrestcast' > $K/secrets/arrestcast-minio-access-key
gen arrestcast-minio-secret-key
gen arrestcast-pipeline-token
gen arrestcast-postgres-password
[ -s $K/secrets/arrestcast-database-url ] ||
  printf 'postgres://arrestcast:%s@postgres:5432/arrestcast?sslmode=disable' "$(cat $K/secrets/arrestcast-postgres-password)" > $K/secrets/arrestcast-database-url
[ -e $K/secrets/arrestcast-socrata-app-token ] || printf '%s' "${SOCRATA_APP_TOKEN:-}" > $K/secrets/arrestcast-socrata-app-token
# The monitor's alert webhook (optional: empty, no alerts).
[ -e $K/secrets/arrestcast-alert-webhook-url ] || printf '%s' "${ALERT_WEBHOOK_URL:-}" > $K/secrets/arrestcast-alert-webhook-url
kubectl apply -k $K
kubectl -n openfaas-fn rollout status deploy/minio --timeout=5m
kubectl -n openfaas-fn rollout status statefulset/postgres --timeout=5m

# 3. The functions, from the same stack.yml as faasd.
kubectl -n openfaas port-forward svc/gateway 8080:8080 >/dev/null 2>&1 &
forward=$!
trap 'kill $forward' EXIT
export OPENFAAS_URL=http://127.0.0.1:8080
sleep 3
kubectl -n openfaas get secret basic-auth -o jsonpath='{.data.basic-auth-password}' | base64 -d |
  faas-cli login --username admin --password-stdin
REGISTRY=$REGISTRY faas-cli up -f stack.yml
faas-cli ready setup --attempts 120
# setup: buckets, 60-day lifecycle on 2-processed-data/, notification rules from the chain table.
printf 'Authorization: Bearer %s\n' "$(cat $K/secrets/arrestcast-pipeline-token)" |
  curl -fsS -X POST -H @- -d '{"as_of":"'"$(date -u +%F)"'"}' "$OPENFAAS_URL/function/setup"
echo
echo "ArrestCast is deployed. The cron-connector runs download monthly; follow it with: faas-cli logs download"
