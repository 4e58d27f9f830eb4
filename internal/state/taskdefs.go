package state

import (
	"fmt"

	"github.com/berthhq/berth/internal/errdefs"
)

func init() {
	register(func() Command { return new(RegisterTaskDefinition) })
	register(func() Command { return new(PutTaskDefinition) })
	register(func() Command { return new(DeleteTaskDefinition) })
}

// TaskDefinitionARN is the ARN of a task definition revision.
func TaskDefinitionARN(account, region, family string, revision int32) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", region, account, family, revision)
}

// RegisterTaskDefinition adds the next revision of a family. The revision and
// ARN are assigned here: one past the highest revision the family ever had.
type RegisterTaskDefinition struct{ Def *TaskDefinition }

func (*RegisterTaskDefinition) commandName() string { return "RegisterTaskDefinition" }

func (c *RegisterTaskDefinition) apply(tx *txn) (any, error) {
	d := c.Def.Copy()
	famID := Key(d.Account, d.Region, d.Family)
	fam, err := first[Family](tx.Txn, tableFamilies, famID)
	if err != nil {
		return nil, err
	}
	nf := &Family{ID: famID, Account: d.Account, Region: d.Region, Name: d.Family, CreateIndex: tx.index}
	if fam != nil {
		*nf = *fam
	}
	if nf.LastRevision >= 1<<30 {
		return nil, errdefs.New(errdefs.ErrLimitExceeded, "task-definition", "Too many revisions of family %s.", d.Family)
	}
	nf.LastRevision++
	nf.ModifyIndex = tx.index
	if err := tx.put(tableFamilies, nf); err != nil {
		return nil, err
	}
	d.Revision = nf.LastRevision
	d.ARN = TaskDefinitionARN(d.Account, d.Region, d.Family, d.Revision)
	d.ID = Key(d.Account, d.Region, d.Family, revisionKey(d.Revision))
	d.Status = TaskDefActive
	d.CreateIndex, d.ModifyIndex = tx.index, tx.index
	return d, tx.put(tableTaskDefs, d)
}

// PutTaskDefinition replaces an existing revision if it has not changed since
// it was read at ModifyIndex.
type PutTaskDefinition struct {
	Def         *TaskDefinition
	ModifyIndex uint64
}

func (*PutTaskDefinition) commandName() string { return "PutTaskDefinition" }

func (c *PutTaskDefinition) apply(tx *txn) (any, error) {
	d := c.Def.Copy()
	d.ID = Key(d.Account, d.Region, d.Family, revisionKey(d.Revision))
	old, err := first[TaskDefinition](tx.Txn, tableTaskDefs, d.ID)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "task-definition", "Unable to describe task definition.")
	}
	if old.ModifyIndex != c.ModifyIndex {
		return nil, errdefs.New(errdefs.ErrConflict, "task-definition", "task definition %s changed concurrently", d.ARN)
	}
	d.CreateIndex, d.ModifyIndex = old.CreateIndex, tx.index
	return d, tx.put(tableTaskDefs, d)
}

// DeleteTaskDefinition removes an INACTIVE revision for good. The family keeps
// its last revision number, so the number is never handed out again.
type DeleteTaskDefinition struct {
	Account, Region, Family string
	Revision                int32
}

func (*DeleteTaskDefinition) commandName() string { return "DeleteTaskDefinition" }

func (c *DeleteTaskDefinition) apply(tx *txn) (any, error) {
	old, err := first[TaskDefinition](tx.Txn, tableTaskDefs, Key(c.Account, c.Region, c.Family, revisionKey(c.Revision)))
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "task-definition", "The specified task definition does not exist.")
	}
	if old.Status == TaskDefActive {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "task-definition", "The specified task definition is still in ACTIVE status. Please deregister the target and try again.")
	}
	d := old.Copy()
	d.Status = TaskDefDeleteInProgress
	d.ModifyIndex = tx.index
	return d, tx.remove(tableTaskDefs, old)
}
