// scheme.go owns the runtime.Scheme of the built-in API groups served by
// this server (core/v1, apps/v1, batch/v1, coordination.k8s.io/v1,
// rbac.authorization.k8s.io/v1, policy/v1, networking.k8s.io/v1 and the
// autoscaling/v1 Scale used by /scale).
//
// k8s.io/kubernetes (which holds the real internal types, defaulters and
// conversions) is not packaged by Debian, so every versioned Go type is
// registered a second time under <group>/__internal. The scheme then treats
// v1 <-> internal as a plain copy and needs no conversion functions.
package main

import (
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

var (
	Scheme         = runtime.NewScheme()
	Codecs         = serializer.NewCodecFactory(Scheme)
	ParameterCodec = runtime.NewParameterCodec(Scheme)

	// servedVersions is also the storage version list (storage == served version).
	// autoscaling/v2 (HorizontalPodAutoscaler) comes before autoscaling/v1 (only its
	// Scale is used, by /scale): the first version of a group names its internal kinds
	// and is the one stored.
	servedVersions = []schema.GroupVersion{
		corev1.SchemeGroupVersion,
		appsv1.SchemeGroupVersion,
		batchv1.SchemeGroupVersion,
		coordinationv1.SchemeGroupVersion,
		autoscalingv2.SchemeGroupVersion,
		autoscalingv1.SchemeGroupVersion,
		rbacv1.SchemeGroupVersion,
		policyv1.SchemeGroupVersion,
		networkingv1.SchemeGroupVersion,
	}
)

func init() {
	adders := []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		coordinationv1.AddToScheme, autoscalingv2.AddToScheme, autoscalingv1.AddToScheme,
		rbacv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	}
	for _, add := range adders {
		if err := add(Scheme); err != nil {
			panic(err)
		}
	}
	// Register each API type (not the meta helper types that AddToGroupVersion
	// adds) again under the internal version of its group, once: a kind two
	// versions define (autoscaling's HorizontalPodAutoscaler) keeps the first's.
	for _, gv := range servedVersions {
		internal := schema.GroupVersion{Group: gv.Group, Version: runtime.APIVersionInternal}
		for kind, t := range Scheme.KnownTypes(gv) {
			if !isAPIPackage(t.PkgPath()) {
				continue
			}
			obj, ok := reflect.New(t).Interface().(runtime.Object)
			if !ok || Scheme.Recognizes(internal.WithKind(kind)) {
				continue
			}
			Scheme.AddKnownTypeWithName(internal.WithKind(kind), obj)
		}
	}
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{},
		&metav1.APIGroup{}, &metav1.APIResourceList{})
}

func isAPIPackage(p string) bool {
	switch p {
	case "k8s.io/api/core/v1", "k8s.io/api/apps/v1", "k8s.io/api/batch/v1",
		"k8s.io/api/coordination/v1", "k8s.io/api/autoscaling/v1", "k8s.io/api/autoscaling/v2",
		"k8s.io/api/rbac/v1", "k8s.io/api/policy/v1", "k8s.io/api/networking/v1":
		return true
	}
	return false
}
