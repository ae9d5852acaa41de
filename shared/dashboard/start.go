package dashboard

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
)

// Start is the dashboard function's server over the function's database
// (connected on first use, and again after a failure, so the function
// starts and answers while PostgreSQL is away).
func Start() *Dashboard {
	d := faas.NewDeps(chain.Dashboard, config.Environment())
	gateway := strings.TrimRight(d.Config.Env("OPENFAAS_URL", "http://gateway:8080"), "/")
	return New(depsDB{d}, Options{
		PredictHealth: HTTPHealth(nil, gateway+"/function/predict"),
		Schedule:      d.Config.Env("DOWNLOAD_SCHEDULE", ""),
		Logger:        d.Log,
	})
}

type depsDB struct{ d *faas.Deps }

func (db depsDB) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	pool, err := db.d.DB(ctx)
	if err != nil {
		return nil, err
	}
	return pool.BeginTx(ctx, opts)
}
