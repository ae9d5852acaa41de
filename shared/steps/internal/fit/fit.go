// Package fit holds what the fitting steps (split, outliers, encode, scale,
// features) share: each reads the previous step's train and test tables and
// the recipe fitted so far, fits its part on train, and writes train, test
// and the recipe with its part added (the cumulative recipe train puts in
// the model).
package fit

import (
	"context"
	"fmt"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// ReadTables reads the train and test tables the run was handed, and counts
// their rows in.
func ReadTables(ctx context.Context, r *runner.Run) (train, test *table.Table, err error) {
	if train, err = ReadTable(ctx, r, chain.RoleTrain); err != nil {
		return nil, nil, err
	}
	if test, err = ReadTable(ctx, r, chain.RoleTest); err != nil {
		return nil, nil, err
	}
	r.Count(int64(train.Len()+test.Len()), 0, 0)
	return train, test, nil
}

// ReadTable reads the one table the run was handed as role.
func ReadTable(ctx context.Context, r *runner.Run, role string, without ...string) (*table.Table, error) {
	ref, err := r.Input(role)
	if err != nil {
		return nil, err
	}
	return r.GetTable(ctx, ref, without...)
}

// ReadRecipe reads the recipe fitted so far.
func ReadRecipe(ctx context.Context, r *runner.Run) (*recipe.Recipe, error) {
	ref, err := r.Input(chain.RoleRecipe)
	if err != nil {
		return nil, err
	}
	var rc recipe.Recipe
	if err := r.GetJSON(ctx, ref, &rc); err != nil {
		return nil, err
	}
	return &rc, nil
}

// WriteTables writes train and test as this step's tables, then the recipe
// (Written).
func WriteTables(ctx context.Context, r *runner.Run, train, test *table.Table, rc *recipe.Recipe) error {
	put := func(role string, t *table.Table) func(*runner.Run) error {
		return func(r *runner.Run) error {
			_, err := r.PutTable(ctx, role, chain.TableKey(r.Step.Name, r.Date, role), t)
			return err
		}
	}
	if err := r.Concurrently(put(chain.RoleTrain, train), put(chain.RoleTest, test)); err != nil {
		return err
	}
	return Written(ctx, r, train.Len(), test.Len(), rc)
}

// Written writes the recipe of a step whose train and test are written,
// and counts their rows out.
func Written(ctx context.Context, r *runner.Run, trainRows, testRows int, rc *recipe.Recipe) error {
	if _, err := r.PutJSON(ctx, chain.RoleRecipe, chain.RecipeKey(r.Step.Name, r.Date), rc); err != nil {
		return err
	}
	r.Count(0, int64(trainRows+testRows), 0)
	r.Note("train_rows", trainRows)
	r.Note("test_rows", testRows)
	return nil
}

// Matrix returns t's columns other than arrest as a column-major matrix,
// and the labels.
func Matrix(t *table.Table) (names []string, X [][]float64, y []uint8, err error) {
	y, err = recipe.Labels(t)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, c := range t.Columns() {
		if c.Name == crime.ColArrest {
			continue
		}
		if c.Kind != table.Numeric {
			return nil, nil, nil, fmt.Errorf("column %s is %v, want numeric", c.Name, c.Kind)
		}
		names = append(names, c.Name)
		X = append(X, c.Nums)
	}
	return names, X, y, nil
}
