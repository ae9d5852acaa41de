// Package window finds the 12-month window files merge has written: the
// newest one before a run date is where download resumes fetching and what
// merge appends the new months to.
package window

import (
	"context"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// LatestBefore returns the newest window file dated strictly before date.
func LatestBefore(ctx context.Context, st store.Store, bucket string, date time.Time) (store.Object, bool, error) {
	objs, err := st.List(ctx, bucket, chain.WindowPrefix)
	if err != nil {
		return store.Object{}, false, fmt.Errorf("list window files: %w", err)
	}
	best, found := time.Time{}, store.Object{}
	for _, o := range objs {
		if d, ok := chain.WindowDate(o.Key); ok && d.Before(date) && d.After(best) {
			best, found = d, o
		}
	}
	return found, found.Key != "", nil
}
