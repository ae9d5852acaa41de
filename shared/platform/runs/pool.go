package runs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// DB is what the tracker needs from PostgreSQL: transactions. *Pool (below),
// a *pgxpool.Pool and a *pgx.Conn (one goroutine at a time) all satisfy it.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Pool is a small pool of pgx connections. (pgxpool would need a module the
// repository does not pin; the tracker's needs are a few short transactions.)
type Pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per connection in use

	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool
}

// Connect opens a pool of at most maxConns connections (0 means 4) to the
// database connString names, and checks that it answers.
func Connect(ctx context.Context, connString string, maxConns int) (*Pool, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("runs: parse database URL: %w", err)
	}
	if maxConns <= 0 {
		maxConns = 4
	}
	p := &Pool{cfg: cfg, slots: make(chan struct{}, maxConns)}
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		p.release(c)
		return nil, fmt.Errorf("runs: ping database: %w", err)
	}
	p.release(c)
	return p, nil
}

var errPoolClosed = errors.New("runs: pool is closed")

func (p *Pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("runs: wait for a database connection: %w", ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosed() {
			p.mu.Unlock()
			return c, nil
		}
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slots
		return nil, fmt.Errorf("runs: connect to database: %w", err)
	}
	return c, nil
}

// release returns c to the pool, or closes it if it broke or the pool closed.
func (p *Pool) release(c *pgx.Conn) {
	p.mu.Lock()
	keep := !p.closed && !c.IsClosed() && c.PgConn().TxStatus() == 'I'
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		c.Close(context.Background())
	}
	<-p.slots
}

// Begin starts a transaction on a pooled connection, which goes back to the
// pool when the transaction commits or rolls back. An idle connection that
// died (a database restart) is replaced once.
func (p *Pool) Begin(ctx context.Context) (pgx.Tx, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			p.release(c)
			if attempt == 0 && c.IsClosed() && ctx.Err() == nil {
				continue
			}
			return nil, fmt.Errorf("runs: begin transaction: %w", err)
		}
		return &pooledTx{Tx: tx, release: sync.OnceFunc(func() { p.release(c) })}, nil
	}
}

// Close closes the idle connections; those in use close when released.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close(context.Background())
	}
}

type pooledTx struct {
	pgx.Tx
	release func()
}

func (t *pooledTx) Commit(ctx context.Context) error {
	defer t.release()
	return t.Tx.Commit(ctx)
}

func (t *pooledTx) Rollback(ctx context.Context) error {
	defer t.release()
	return t.Tx.Rollback(ctx)
}
