#!/bin/sh
# Stand-in for Prisma's native schema engine, used only so that `prisma generate` runs offline.
echo "The Prisma schema engine is not installed (offline). Migrations are applied with 'pnpm db:migrate'." >&2
exit 1
