#!/usr/bin/env bash
# Rebuilds the GraphiQL bundle (../dist) from the npm packages pinned by package-lock.json.
# Needs Node.js 20 or newer and the npm registry; rustfmt formats the generated dist/assets.rs.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node build.mjs
