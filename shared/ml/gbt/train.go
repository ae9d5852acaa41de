package gbt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Fit trains a model on the column-major matrix X (X[j][i]) and labels y (0/1). It stops with ctx's error
// when ctx is done (checked once per round).
func Fit(ctx context.Context, X [][]float64, y []uint8, p Params) (*Model, error) {
	m, _, err := fit(ctx, X, y, p, Options{})
	return m, err
}

// Options are Fit's optional settings; the zero value is Fit's behaviour.
type Options struct {
	// Deadline, when set, stops adding trees when the next round, as long as
	// the rounds so far took on average, would end after it: a caller with a
	// time limit (a function's timeout) gets the trees that fit in it instead
	// of nothing. At least one tree is grown; Model.NumTrees tells how many
	// were kept and Model.StoppedAtDeadline whether the deadline stopped it.
	Deadline time.Time
	// Validation, when set, names the rows of X held out to watch log loss on
	// (early stopping, Params.EarlyStoppingRounds), instead of a random
	// stratified share (Params.ValidationFraction, which must then be 0): an
	// out-of-time slice, say. The other rows are trained on.
	Validation []int
}

// FitWith is Fit with options.
func FitWith(ctx context.Context, X [][]float64, y []uint8, p Params, o Options) (*Model, error) {
	m, _, err := fit(ctx, X, y, p, o)
	return m, err
}

// fit is FitWith that also hands back the trainer, whose records tests inspect.
func fit(ctx context.Context, X [][]float64, y []uint8, p Params, o Options) (*Model, *trainer, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("gbt fit: %w", err)
	}
	if len(X) == 0 || len(X) > maxFeatures {
		return nil, nil, fmt.Errorf("gbt fit: %d feature columns, need 1..%d", len(X), maxFeatures)
	}
	n := len(y)
	for j, c := range X {
		if len(c) != n {
			return nil, nil, fmt.Errorf("gbt fit: column %d has %d rows, labels %d", j, len(c), n)
		}
	}
	if n < 2 {
		return nil, nil, fmt.Errorf("gbt fit: %d rows", n)
	}
	for i, v := range y {
		if v > 1 {
			return nil, nil, fmt.Errorf("gbt fit: label %d at row %d is not 0/1", v, i)
		}
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	threads := p.threads()

	// Hold out the validation rows first, so bin edges and the base score see training rows only.
	if p.EarlyStoppingRounds > 0 && p.ValidationFraction == 0 && o.Validation == nil {
		return nil, nil, errors.New("gbt fit: early_stopping_rounds needs validation rows or validation_fraction > 0")
	}
	var trainRows, valRows []int32
	switch {
	case o.Validation != nil:
		if p.ValidationFraction > 0 {
			return nil, nil, fmt.Errorf("gbt fit: validation rows given and validation_fraction %v", p.ValidationFraction)
		}
		var err error
		if trainRows, valRows, err = splitRows(n, o.Validation); err != nil {
			return nil, nil, fmt.Errorf("gbt fit: %w", err)
		}
	case p.ValidationFraction > 0:
		trainRows, valRows = stratifiedHoldout(y, p.ValidationFraction, rng)
		if len(valRows) == 0 || len(trainRows) < 2 {
			return nil, nil, fmt.Errorf("gbt fit: validation_fraction %v leaves %d training and %d validation rows",
				p.ValidationFraction, len(trainRows), len(valRows))
		}
	}

	ub := fitEdges(X, trainRows, p, rng, threads)
	t := &trainer{p: p, threads: threads, rng: rng}
	t.bins = binRows(X, ub, trainRows, threads)
	t.nb = make([]int, len(X))
	for j := range ub {
		t.nb[j] = len(ub[j]) + 1
	}
	if trainRows == nil {
		t.y = y
	} else {
		t.y = make([]uint8, len(trainRows))
		for k, r := range trainRows {
			t.y[k] = y[r]
		}
	}
	var val *binned
	var yVal []uint8
	var valMargin []float64
	if valRows != nil {
		val = binRows(X, ub, valRows, threads)
		yVal = make([]uint8, len(valRows))
		for k, r := range valRows {
			yVal[k] = y[r]
		}
	}

	nt := len(t.y)
	pos := 0
	for _, v := range t.y {
		pos += int(v)
	}
	base := 0.0
	switch {
	case p.BaseProba > 0:
		base = math.Log(p.BaseProba / (1 - p.BaseProba))
	case pos > 0 && pos < nt:
		base = math.Log(float64(pos) / float64(nt-pos))
	}
	t.base = base
	if val != nil {
		valMargin = make([]float64, val.n)
		for i := range valMargin {
			valMargin[i] = base
		}
	}
	t.initRecords()

	var trees [][]tnode
	var valLoss []float64
	best, bestLoss := -1, math.Inf(1)
	started, timedOut := time.Now(), false
	for round := 0; round < p.NumTrees; round++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("gbt fit: round %d: %w", round, err)
		}
		if !o.Deadline.IsZero() && round > 0 && time.Now().Add(time.Since(started)/time.Duration(round)).After(o.Deadline) {
			timedOut = true
			break
		}
		tree := t.growTree()
		trees = append(trees, tree)
		if val != nil {
			loss := addTreeBinned(tree, val, t.nb, valMargin, yVal, t.threads)
			valLoss = append(valLoss, loss)
			if loss < bestLoss {
				best, bestLoss = round, loss
			}
			if p.EarlyStoppingRounds > 0 && round-best >= p.EarlyStoppingRounds {
				break
			}
		}
	}
	if best < 0 || p.EarlyStoppingRounds == 0 {
		best = len(trees) - 1
	}
	m, err := buildModel(trees[:best+1], ub, t.nb, base, p, best, valLoss)
	if err != nil {
		return nil, nil, fmt.Errorf("gbt fit: %w", err)
	}
	m.stoppedAtDeadline = timedOut
	return m, t, nil
}

// splitRows returns the rows of n not in val (training) and val's rows, in
// increasing order; val must name distinct rows and leave two to train on.
func splitRows(n int, val []int) (train, held []int32, err error) {
	in := make([]bool, n)
	for _, r := range val {
		if r < 0 || r >= n {
			return nil, nil, fmt.Errorf("validation row %d of %d", r, n)
		}
		if in[r] {
			return nil, nil, fmt.Errorf("validation row %d given twice", r)
		}
		in[r] = true
	}
	for i, v := range in {
		if v {
			held = append(held, int32(i))
		} else {
			train = append(train, int32(i))
		}
	}
	if len(held) == 0 || len(train) < 2 {
		return nil, nil, fmt.Errorf("validation leaves %d training and %d validation rows", len(train), len(held))
	}
	return train, held, nil
}

// fitEdges learns bin upper bounds per feature from (a sample of) the training rows.
func fitEdges(X [][]float64, trainRows []int32, p Params, rng *rand.Rand, threads int) [][]float64 {
	n := len(X[0])
	if trainRows != nil {
		n = len(trainRows)
	}
	var sample []int32
	if p.BinSampleRows > 0 && n > p.BinSampleRows {
		perm := rng.Perm(n)[:p.BinSampleRows]
		slices.Sort(perm)
		sample = make([]int32, len(perm))
		for k, v := range perm {
			if trainRows != nil {
				sample[k] = trainRows[v]
			} else {
				sample[k] = int32(v)
			}
		}
	} else if trainRows != nil {
		sample = trainRows
	}
	ub := make([][]float64, len(X))
	// One scratch column per goroutine, not one per feature.
	size := n
	if sample != nil {
		size = len(sample)
	}
	scratch := sync.Pool{New: func() any { s := make([]float64, 0, size); return &s }}
	runChunks(len(X), threads, func(j int) {
		col := X[j]
		buf := scratch.Get().(*[]float64)
		defer scratch.Put(buf)
		vals := (*buf)[:0]
		if sample == nil {
			for _, v := range col {
				if v == v {
					vals = append(vals, v)
				}
			}
		} else {
			for _, r := range sample {
				if v := col[r]; v == v {
					vals = append(vals, v)
				}
			}
		}
		ub[j] = binEdges(vals, p.MaxBins)
	})
	return ub
}

// stratifiedHoldout draws about frac of each class's rows as validation rows; both lists come back sorted.
func stratifiedHoldout(y []uint8, frac float64, rng *rand.Rand) (train, val []int32) {
	var byClass [2][]int32
	for i, v := range y {
		byClass[v] = append(byClass[v], int32(i))
	}
	isVal := make([]bool, len(y))
	for _, rows := range byClass {
		k := int(math.Round(frac * float64(len(rows))))
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		for _, r := range rows[:k] {
			isVal[r] = true
		}
	}
	for i, v := range isVal {
		if v {
			val = append(val, int32(i))
		} else {
			train = append(train, int32(i))
		}
	}
	return train, val
}

// treeValueBinned walks a training tree on a binned row.
func treeValueBinned(nodes []tnode, row []uint8, nb []int) float64 {
	i := int32(0)
	for {
		n := &nodes[i]
		if n.left < 0 {
			return n.value
		}
		b := int(row[n.feat])
		switch {
		case b <= int(n.bin):
			i = n.left
		case b == nb[n.feat] && n.defLeft:
			i = n.left
		default:
			i = n.left + 1
		}
	}
}

// addTreeBinned adds a tree to the validation margins and returns the validation log loss.
func addTreeBinned(nodes []tnode, val *binned, nb []int, margin []float64, y []uint8, threads int) float64 {
	const chunk = 8192
	nc := (val.n + chunk - 1) / chunk
	partial := make([]float64, nc)
	parallelChunks(val.n, chunk, threads, func(c, lo, hi int) {
		s := 0.0
		for i := lo; i < hi; i++ {
			margin[i] += treeValueBinned(nodes, val.row(i), nb)
			s += logLoss(margin[i], y[i])
		}
		partial[c] = s
	})
	s := 0.0
	for _, v := range partial {
		s += v
	}
	return s / float64(val.n)
}

// logLoss of a margin z for label y, computed without overflow: log(1+exp(-z)) or log(1+exp(z)).
func logLoss(z float64, y uint8) float64 {
	if y == 0 {
		z = -z
	}
	if z > 0 {
		return math.Log1p(math.Exp(-z))
	}
	return -z + math.Log1p(math.Exp(z))
}

// buildModel converts training trees (bin thresholds) into the prediction layout (raw thresholds).
func buildModel(trees [][]tnode, ub [][]float64, nb []int, base float64, p Params, best int, valLoss []float64) (*Model, error) {
	f := len(ub)
	m := &Model{
		numFeatures:      f,
		baseScore:        base,
		upperBounds:      ub,
		importanceGain:   make([]float64, f),
		importanceSplits: make([]int, f),
		params:           p,
		bestIteration:    best,
		validationLoss:   valLoss,
	}
	flat := make([]tree, len(trees))
	var cover []float64 // the leaves' (setCover sums the inner nodes'), in the model's node order
	for ti, tr := range trees {
		nodes := make([]flatNode, len(tr))
		for k, n := range tr {
			if n.left < 0 {
				nodes[k] = flatNode{leaf: true, value: n.value}
				cover = append(cover, n.cover)
				continue
			}
			cover = append(cover, 0)
			thr := float32(math.Inf(1)) // split after the last regular bin: every non-missing value goes left
			if int(n.bin) < nb[n.feat]-1 {
				thr = float32(ub[n.feat][n.bin]) // exact: bin bounds are float32 values
			}
			nodes[k] = flatNode{feature: int(n.feat), threshold: thr, left: int(n.left), defaultLeft: n.defLeft}
			m.importanceGain[n.feat] += n.gain
			m.importanceSplits[n.feat]++
		}
		flat[ti] = tree{nodes: nodes}
	}
	if err := m.setTrees(flat); err != nil {
		return nil, err
	}
	// Covers come from growing the trees (the sampled rows' hessians, as
	// XGBoost's cover), so explanations cost training nothing.
	if err := m.setCover(cover); err != nil {
		return nil, err
	}
	return m, nil
}
