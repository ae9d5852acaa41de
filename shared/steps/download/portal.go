package download

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// PortalSource reads the Chicago Data Portal's SODA API (or a stand-in).
type PortalSource struct{ Client *socrata.Client }

// NewPortalSource builds the portal source from its settings. CSV is the
// default format: a page of 50,000 crimes is 14 MB against JSON's 34 MB,
// and decodes several times faster.
func NewPortalSource(s config.Socrata, log *slog.Logger) (*PortalSource, error) {
	c, err := socrata.New(socrata.Config{BaseURL: s.BaseURL, AppToken: s.AppToken, Logger: log, Format: socrata.Format(s.Format)})
	if err != nil {
		return nil, fmt.Errorf("portal client: %w", err)
	}
	return &PortalSource{Client: c}, nil
}

// Crimes pages through the crimes dataset and decodes each page.
func (p *PortalSource) Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error) {
	var parts []*table.Table
	var rejects []crime.Reject
	offset := 0
	decode := crime.ReadSODA
	if p.Client.Format() == socrata.FormatCSV {
		// The API's CSV has the JSON's field names as its header and the
		// same value spellings; the portal CSV reader takes both.
		decode = crime.ReadPortalCSV
	}
	err := p.Client.Crimes(ctx, from, to, func(body []byte) (int, error) {
		res, err := decode(ctx, bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("decode crimes page: %w", err)
		}
		for _, rj := range res.Rejects {
			rj.Line += offset
			rejects = append(rejects, rj)
		}
		n := res.Table.Len() + len(res.Rejects)
		offset += n
		parts = append(parts, res.Table)
		return n, nil
	})
	if err != nil {
		if !socrata.IsTransient(err) && ctx.Err() == nil {
			return nil, runner.Permanentf("fetch crimes: %w", err)
		}
		return nil, fmt.Errorf("fetch crimes: %w", err)
	}
	t, err := table.Concat(parts...)
	if err != nil {
		return nil, fmt.Errorf("join crime pages: %w", err)
	}
	return &crime.ReadResult{Table: t, Rejects: rejects}, nil
}

// Stations fetches the police stations dataset.
func (p *PortalSource) Stations(ctx context.Context) ([]geo.Station, error) {
	var out []geo.Station
	decode := geo.ReadStationsJSON
	if p.Client.Format() == socrata.FormatCSV {
		decode = geo.ReadStationsCSV
	}
	err := p.Client.Stations(ctx, func(body []byte) (int, error) {
		s, err := decode(ctx, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		out = append(out, s...)
		return len(s), nil
	})
	if err != nil {
		return nil, fmt.Errorf("fetch stations: %w", err)
	}
	return out, nil
}
