// Package ec2api is insitu's EC2 Query API face, served at
// /services/compute (the Eucalyptus path), so the aws CLI and
// aws-sdk-go-v2's ec2 client work against a node unchanged.
//
// It owns the protocol: requests are form-encoded POST bodies or GET
// queries (Action=...&Version=2016-11-15) signed with SigV4 for service
// "ec2" in the node's region; responses are XML in the
// http://ec2.amazonaws.com/doc/2016-11-15/ namespace carrying a
// requestId; every failure is an *Error written in EC2's
// <Response><Errors> format by writeError, the one place errors become
// EC2 codes.
//
// The actions that need no virtual machine live here, with their state
// in meta (the control plane: Pebble on a single node, etcd in a cluster)
// under ec2/<account id>/..., so each account sees only its own key pairs,
// security groups and tags: DescribeRegions, DescribeAvailabilityZones,
// DescribeInstanceTypes, the key pair and security group actions,
// CreateTags/DeleteTags/DescribeTags, and the images (RegisterImage from a
// manifest object in a bucket the caller owns, DescribeImages,
// DeregisterImage, Modify/DescribeImageAttribute; records under
// ec2/images/, read through the injected Objects). Instance actions go to an injected
// Instances implementation; without one they answer UnsupportedOperation.
//
// A Handler is safe for concurrent use; every read-modify-write of a
// record is a meta compare-and-swap retried on conflict.
package ec2api
