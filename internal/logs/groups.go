package logs

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/logs/store"
)

type CreateLogGroupInput struct {
	LogGroupName              *string           `json:"logGroupName"`
	KmsKeyID                  *string           `json:"kmsKeyId"`
	Tags                      map[string]string `json:"tags"`
	LogGroupClass             *string           `json:"logGroupClass"`
	DeletionProtectionEnabled *bool             `json:"deletionProtectionEnabled"`
}

type CreateLogGroupOutput struct{}

// CreateLogGroup creates a log group in the caller's account and region.
func (a *API) CreateLogGroup(ctx context.Context, in *CreateLogGroupInput) (*CreateLogGroupOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if in.KmsKeyID != nil {
		v.length("kmsKeyId", *in.KmsKeyID, 0, maxKMSKeyIDLen)
	}
	if in.Tags != nil {
		v.tags("tags", in.Tags)
	}
	if in.LogGroupClass != nil {
		v.enum("logGroupClass", *in.LogGroupClass, logGroupClassValues)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(*in.LogGroupName, "aws/") {
		return nil, invalidParam("Log group names can't start with the string aws/.")
	}
	k := groupKey(ctx, *in.LogGroupName)
	g := store.Group{Account: k.Account, Region: k.Region, Name: k.Name, Created: ms(a.now()), Class: "STANDARD", Tags: in.Tags}
	if in.KmsKeyID != nil {
		g.KMSKeyID = *in.KmsKeyID
	}
	if in.LogGroupClass != nil {
		g.Class = *in.LogGroupClass
	}
	if in.DeletionProtectionEnabled != nil {
		g.DeletionProtection = *in.DeletionProtectionEnabled
	}
	if err := a.store.CreateGroup(g); err != nil {
		return nil, err
	}
	return &CreateLogGroupOutput{}, nil
}

type DeleteLogGroupInput struct {
	LogGroupName *string `json:"logGroupName"`
}

type DeleteLogGroupOutput struct{}

// DeleteLogGroup deletes a log group with its streams and events.
func (a *API) DeleteLogGroup(ctx context.Context, in *DeleteLogGroupInput) (*DeleteLogGroupOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	err := a.store.DeleteGroup(groupKey(ctx, *in.LogGroupName), func(g *store.Group) error {
		if g.DeletionProtection {
			return &awsapi.Error{Code: "InvalidOperationException", Message: "The log group has deletion protection enabled."}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &DeleteLogGroupOutput{}, nil
}

type DescribeLogGroupsInput struct {
	LogGroupNamePrefix    *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern   *string  `json:"logGroupNamePattern"`
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogGroupClass         *string  `json:"logGroupClass"`
	NextToken             *string  `json:"nextToken"`
	Limit                 *int32   `json:"limit"`
	IncludeLinkedAccounts *bool    `json:"includeLinkedAccounts"`
	AccountIdentifiers    []string `json:"accountIdentifiers"`
}

type DescribeLogGroupsOutput struct {
	LogGroups []LogGroup `json:"logGroups"`
	NextToken *string    `json:"nextToken,omitempty"`
}

// LogGroup is the LogGroup shape.
type LogGroup struct {
	LogGroupName              string `json:"logGroupName"`
	CreationTime              int64  `json:"creationTime"`
	RetentionInDays           *int32 `json:"retentionInDays,omitempty"`
	MetricFilterCount         *int32 `json:"metricFilterCount,omitempty"`
	Arn                       string `json:"arn"`
	StoredBytes               *int64 `json:"storedBytes,omitempty"`
	KmsKeyID                  string `json:"kmsKeyId,omitempty"`
	LogGroupClass             string `json:"logGroupClass,omitempty"`
	LogGroupArn               string `json:"logGroupArn,omitempty"`
	DeletionProtectionEnabled *bool  `json:"deletionProtectionEnabled,omitempty"`
}

// DescribeLogGroups lists the caller's log groups in name order.
func (a *API) DescribeLogGroups(ctx context.Context, in *DescribeLogGroupsInput) (*DescribeLogGroupsOutput, error) {
	var v validator
	if in.LogGroupNamePrefix != nil {
		v.groupName("logGroupNamePrefix", in.LogGroupNamePrefix, false)
	}
	if in.LogGroupNamePattern != nil {
		v.length("logGroupNamePattern", *in.LogGroupNamePattern, 0, maxNameLen)
		v.pattern("logGroupNamePattern", *in.LogGroupNamePattern, groupNameSearchPattern)
	}
	if in.LogGroupClass != nil {
		v.enum("logGroupClass", *in.LogGroupClass, logGroupClassValues)
	}
	v.limit("limit", in.Limit, maxDescribeLimit)
	if in.LogGroupIdentifiers != nil {
		v.count("logGroupIdentifiers", len(in.LogGroupIdentifiers), 1, 50)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalidParam("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.")
	}
	if in.LogGroupIdentifiers != nil && (in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil) {
		return nil, invalidParam("LogGroupIdentifiers can't be combined with LogGroupNamePrefix or LogGroupNamePattern.")
	}
	after, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := int(maxDescribeLimit)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	c := awsapi.CallerFrom(ctx)
	var wanted map[string]bool
	if in.LogGroupIdentifiers != nil {
		wanted = map[string]bool{}
		for _, id := range in.LogGroupIdentifiers {
			if k, ok := parseGroupARN(id, true); ok {
				if k.Account == c.Account && k.Region == c.Region {
					wanted[k.Name] = true
				}
				continue
			}
			wanted[id] = true
		}
	}
	out := &DescribeLogGroupsOutput{LogGroups: []LogGroup{}}
	groups := a.store.Groups(c.Account, c.Region)
	// Resume after the last group of the previous page.
	start, found := slices.BinarySearchFunc(groups, after.Name, func(g *store.Group, name string) int { return strings.Compare(g.Name, name) })
	if found {
		start++
	}
	for _, g := range groups[start:] {
		switch {
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(g.Name, *in.LogGroupNamePrefix),
			in.LogGroupNamePattern != nil && !strings.Contains(g.Name, *in.LogGroupNamePattern),
			wanted != nil && !wanted[g.Name],
			in.LogGroupClass != nil && g.Class != *in.LogGroupClass:
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = encodePageToken(pageToken{Name: out.LogGroups[limit-1].LogGroupName})
			break
		}
		out.LogGroups = append(out.LogGroups, a.logGroup(g, in.LogGroupNamePattern != nil))
	}
	return out, nil
}

// logGroup renders a group; brief is the form logGroupNamePattern asks for
// (arn, creationTime and logGroupName only).
func (a *API) logGroup(g *store.Group, brief bool) LogGroup {
	k := g.Key()
	lg := LogGroup{LogGroupName: g.Name, CreationTime: g.Created, Arn: groupARN(k) + ":*"}
	if brief {
		return lg
	}
	zero := int32(0)
	stored := a.store.GroupStoredBytes(k)
	lg.MetricFilterCount, lg.StoredBytes = &zero, &stored
	lg.LogGroupArn, lg.LogGroupClass, lg.KmsKeyID = groupARN(k), g.Class, g.KMSKeyID
	if g.RetentionDays > 0 {
		days := g.RetentionDays
		lg.RetentionInDays = &days
	}
	if g.DeletionProtection {
		protected := true
		lg.DeletionProtectionEnabled = &protected
	}
	return lg
}

type PutRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int32  `json:"retentionInDays"`
}

type PutRetentionPolicyOutput struct{}

// PutRetentionPolicy sets how long a group keeps events.
func (a *API) PutRetentionPolicy(ctx context.Context, in *PutRetentionPolicyInput) (*PutRetentionPolicyOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if v.required("retentionInDays", in.RetentionInDays != nil) && !slices.Contains(retentionDaysValues, *in.RetentionInDays) {
		allowed := make([]string, len(retentionDaysValues))
		for i, d := range retentionDaysValues {
			allowed[i] = strconv.Itoa(int(d))
		}
		v.enum("retentionInDays", strconv.Itoa(int(*in.RetentionInDays)), allowed)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	days := *in.RetentionInDays
	if err := a.store.UpdateGroup(groupKey(ctx, *in.LogGroupName), func(g *store.Group) error {
		g.RetentionDays = days
		return nil
	}); err != nil {
		return nil, err
	}
	return &PutRetentionPolicyOutput{}, nil
}

type DeleteRetentionPolicyInput struct {
	LogGroupName *string `json:"logGroupName"`
}

type DeleteRetentionPolicyOutput struct{}

// DeleteRetentionPolicy makes a group keep its events forever.
func (a *API) DeleteRetentionPolicy(ctx context.Context, in *DeleteRetentionPolicyInput) (*DeleteRetentionPolicyOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.store.UpdateGroup(groupKey(ctx, *in.LogGroupName), func(g *store.Group) error {
		g.RetentionDays = 0
		return nil
	}); err != nil {
		return nil, err
	}
	return &DeleteRetentionPolicyOutput{}, nil
}
