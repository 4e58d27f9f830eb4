package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableIndex        = "index"
	tableClusters     = "clusters"
	tableTaskDefs     = "taskdefs"
	tableFamilies     = "families"
	tableAccessKeys   = "accesskeys"
	tableMeta         = "meta"
	tableInstances    = "instances"
	tableTasks        = "tasks"
	tableClientTokens = "clienttokens"
	tableServices     = "services"
	tableDocs         = "docs"
)

// tableTypes lists every table with a constructor of the type it holds; the
// snapshot and restore code walks it.
var tableTypes = map[string]func() any{
	tableClusters:     func() any { return new(Cluster) },
	tableTaskDefs:     func() any { return new(TaskDefinition) },
	tableFamilies:     func() any { return new(Family) },
	tableAccessKeys:   func() any { return new(AccessKey) },
	tableMeta:         func() any { return new(Meta) },
	tableInstances:    func() any { return new(ContainerInstance) },
	tableTasks:        func() any { return new(Task) },
	tableClientTokens: func() any { return new(ClientTokenRecord) },
	tableServices:     func() any { return new(Service) },
	tableDocs:         func() any { return new(Doc) },
}

func idIndex() *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}}
}

func schema() *memdb.DBSchema {
	tables := map[string]*memdb.TableSchema{
		tableIndex: {
			Name:    tableIndex,
			Indexes: map[string]*memdb.IndexSchema{"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Table"}}},
		},
	}
	for name := range tableTypes {
		tables[name] = &memdb.TableSchema{Name: name, Indexes: map[string]*memdb.IndexSchema{"id": idIndex()}}
	}
	tables[tableTasks].Indexes["instance"] = &memdb.IndexSchema{
		Name: "instance", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "InstanceKey"},
	}
	tables[tableTasks].Indexes["service"] = &memdb.IndexSchema{
		Name: "service", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "ServiceKey"},
	}
	tables[tableInstances].Indexes["instanceid"] = &memdb.IndexSchema{
		Name: "instanceid", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "InstanceID"},
	}
	tables[tableInstances].Indexes["ec2"] = &memdb.IndexSchema{
		Name: "ec2", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "EC2InstanceID"},
	}
	return &memdb.DBSchema{Tables: tables}
}

// tableIndexEntry records the last raft index that changed a table; blocking
// queries watch it.
type tableIndexEntry struct {
	Table string
	Index uint64
}

// Key builds a table ID from its parts. The parts are joined with NUL, which
// no name may contain, so prefixes of parts are prefixes of IDs and IDs sort by
// their parts in order.
func Key(parts ...string) string { return strings.Join(parts, "\x00") }

// tenantPrefix is the ID prefix of everything an (account, region) owns in a
// table keyed by Key(account, region, ...).
func tenantPrefix(account, region string) string { return Key(account, region, "") }

// revisionKey renders a revision so that IDs sort numerically.
func revisionKey(rev int32) string { return fmt.Sprintf("%010d", rev) }
