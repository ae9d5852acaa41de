package gbt

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestDevSweep(t *testing.T) {
	Xtr, ytr, Xte, yte := mlReady(t)
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(os.Getenv("GBT_PARAMS")), &list); err != nil {
		t.Fatal(err)
	}
	for _, raw := range list {
		p := DefaultParams()
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if v := os.Getenv("GBT_THREADS"); v != "" {
			p.Threads, _ = strconv.Atoi(v)
		}
		t0, c0 := time.Now(), cpuTime()
		m, err := Fit(context.Background(), Xtr, ytr, p)
		if err != nil {
			t.Fatal(err)
		}
		wall, cpu := time.Since(t0), cpuTime()-c0
		pr, _ := m.PredictProbaBatch(Xte)
		t.Logf("auc %.4f ap %.4f wall %.2fs cpu %.2fs trees %d nodes %d params %+v", rocAUC(yte, pr), averagePrecision(yte, pr), wall.Seconds(), cpu.Seconds(), m.NumTrees(), m.NumNodes(), p)
	}
}
