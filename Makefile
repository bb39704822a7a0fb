# Thin wrappers: the logic lives in scripts/.
ENV ?= staging
.PHONY: run test lint bench bootstrap deploy plan rollback install install-dev ui clean

run:            ## start API, UI and worker on the embedded default (SQLite under ./var/)
	@bash scripts/run.sh

test:           ## the whole suite: both storage engines, UI, deploy end to end
	@bash scripts/test.sh

lint:           ## ruff + mypy --strict on app/
	@bash scripts/lint.sh

bench:          ## benchmarks against the fake network (figures go to docs/benchmarks.md by hand)
	@bash scripts/bench.sh

bootstrap:      ## first login to a fresh VM: make bootstrap ENV=staging HOST=staging-1 (docs/production.md)
	@bash scripts/bootstrap-host.sh "$(ENV)" "$(HOST)"

deploy:         ## provision (Ansible) then release (pyinfra): make deploy ENV=staging
	@bash scripts/deploy.sh "$(ENV)"

plan:           ## show what deploy would change, changing nothing
	@bash scripts/plan.sh "$(ENV)"

rollback:       ## every app host back to its last release that passed its health gate
	@bash scripts/rollback.sh "$(ENV)"

install:        ## runtime virtualenv only
	@bash scripts/bootstrap.sh runtime

install-dev:    ## runtime + development tools
	@bash scripts/bootstrap.sh dev

ui:             ## build the browser UI into ui/dist
	@bash scripts/build-ui.sh

clean:
	rm -rf .venv var build dist ui/dist ui/node_modules
