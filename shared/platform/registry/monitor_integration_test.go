//go:build integration

package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/arrestcast/arrestcast/shared/platform/registry"
)

// The profile a model is registered with comes back as it went in (none
// stays none), and a replayed Register keeps the first one.
func TestProfileRoundTrip(t *testing.T) {
	_, _, reg := setup(t)
	ctx := context.Background()
	bare := register(t, reg, model(month(0), "e0"), true)
	m := model(month(1), "e1")
	m.Profile = &registry.Ref{Bucket: "models", Key: "arrest/2018-02-01/profile.json", VersionID: "v-1", ETag: "p1", Size: 4096}
	with := register(t, reg, m, true)
	again := model(month(1), "e1")
	again.Profile = &registry.Ref{Bucket: "models", Key: "arrest/2018-02-01/profile.json", VersionID: "v-2", ETag: "p1"}
	if v := register(t, reg, again, false); v != with {
		t.Fatalf("replay registered v%d", v)
	}
	got, err := reg.Get(ctx, with)
	if err != nil || got.Profile == nil || *got.Profile != *m.Profile {
		t.Errorf("profile %+v %v, want %+v", got.Profile, err, m.Profile)
	}
	if got, err := reg.Get(ctx, bare); err != nil || got.Profile != nil {
		t.Errorf("a model without a profile: %+v %v", got.Profile, err)
	}
}

// ChampionBefore is the champion as it stood when data dated from d on
// arrived: the newest champion trained on a run date up to d.
func TestChampionBefore(t *testing.T) {
	_, _, reg := setup(t)
	ctx := context.Background()
	if _, err := reg.ChampionBefore(ctx, month(5)); !errors.Is(err, registry.ErrNoChampion) {
		t.Fatalf("no champion yet: %v", err)
	}
	var vs []int
	for i := range 3 { // v1..v3 trained on Jan, Feb, Mar 2018, each promoted in turn
		v := register(t, reg, model(month(i), fmt.Sprint("e", i)), true)
		if err := reg.Promote(ctx, v, "better", registry.ActorTrain); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	challenger := register(t, reg, model(month(3), "e3"), true) // never champion
	for _, c := range []struct {
		month, want int
	}{{0, vs[0]}, {1, vs[1]}, {2, vs[2]}, {3, vs[2]}, {7, vs[2]}} {
		got, err := reg.ChampionBefore(ctx, month(c.month))
		if err != nil || got.Version != c.want {
			t.Errorf("ChampionBefore(%s) = %+v %v, want v%d", month(c.month).Format("2006-01-02"), got, err, c.want)
		}
	}
	if _, err := reg.ChampionBefore(ctx, month(-1)); !errors.Is(err, registry.ErrNoChampion) {
		t.Errorf("before every model: %v", err)
	}
	// A rollback to v1 makes it the one for every later month again.
	if err := reg.Promote(ctx, vs[0], "rollback", registry.ActorManual); err != nil {
		t.Fatal(err)
	}
	if got, err := reg.ChampionBefore(ctx, month(7)); err != nil || got.Version != vs[0] {
		t.Errorf("after the rollback: %+v %v, want v%d", got, err, vs[0])
	}
	if got, _ := reg.ChampionBefore(ctx, month(7)); got.Version == challenger {
		t.Error("a model never promoted was taken for a champion")
	}
}
