// Package sts implements the AWS STS API (awsQuery, 2011-06-15). It serves
// GetCallerIdentity, which Terraform and many scripts call first to learn who
// they are.
package sts

import (
	"context"

	"github.com/berthhq/berth/internal/awsapi"
)

// Namespace is the XML namespace of STS responses.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// API serves the STS operations.
type API struct{}

// New returns the STS API.
func New() *API { return &API{} }

// Service returns the STS API's registration with the gateway.
func (a *API) Service() *awsapi.QueryService {
	return &awsapi.QueryService{
		SigningName:     "sts",
		Version:         "2011-06-15",
		Namespace:       Namespace,
		ServerErrorCode: "InternalFailure",
		Ops: map[string]awsapi.QueryHandler{
			"GetCallerIdentity": awsapi.Query(a.GetCallerIdentity),
		},
	}
}

type GetCallerIdentityInput struct{}

type GetCallerIdentityOutput struct {
	UserID  string `query:"UserId"`
	Account string `query:"Account"`
	Arn     string `query:"Arn"`
}

// GetCallerIdentity returns the account, ARN and user id of the principal
// that signed the request.
func (a *API) GetCallerIdentity(ctx context.Context, _ *GetCallerIdentityInput) (*GetCallerIdentityOutput, error) {
	c := awsapi.CallerFrom(ctx)
	return &GetCallerIdentityOutput{UserID: c.UserID, Account: c.Account, Arn: c.PrincipalARN}, nil
}
