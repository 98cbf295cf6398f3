// discovery.go owns what the missing kube-aggregator would do for discovery:
// it mirrors apiextensions.k8s.io and every CRD group into the core server's
// unaggregated /apis list (the aggregated /apis document is shared through
// one ResourceManager, see main.go), and holds the small helpers used by the
// server chain (service resolver, default namespaces).
package main

import (
	"context"
	"net/url"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/version"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

func openapinamerFor() *openapinamer.DefinitionNamer {
	return openapinamer.NewDefinitionNamer(Scheme, apiserver.Scheme)
}

// bridgeCRDDiscovery keeps core's DiscoveryGroupManager in sync with CRDs.
func bridgeCRDDiscovery(core *genericapiserver.GenericAPIServer, ext *apiserver.CustomResourceDefinitions) {
	extGroup := metav1.APIGroup{
		Name:             apiextv1.GroupName,
		Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: apiextv1.SchemeGroupVersion.String(), Version: "v1"}},
		PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: apiextv1.SchemeGroupVersion.String(), Version: "v1"},
	}
	core.DiscoveryGroupManager.AddGroup(extGroup)

	informer := ext.Informers.Apiextensions().V1().CustomResourceDefinitions()
	known := map[string]bool{}
	sync := func() {
		crds, err := informer.Lister().List(labels.Everything())
		if err != nil {
			klog.Errorf("listing CRDs: %v", err)
			return
		}
		versions := map[string]map[string]bool{}
		for _, crd := range crds {
			for _, v := range crd.Spec.Versions {
				if !v.Served {
					continue
				}
				if versions[crd.Spec.Group] == nil {
					versions[crd.Spec.Group] = map[string]bool{}
				}
				versions[crd.Spec.Group][v.Name] = true
			}
		}
		for group, vs := range versions {
			names := make([]string, 0, len(vs))
			for v := range vs {
				names = append(names, v)
			}
			sort.Slice(names, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(names[i], names[j]) > 0 })
			g := metav1.APIGroup{Name: group}
			for _, v := range names {
				g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
			}
			g.PreferredVersion = g.Versions[0]
			core.DiscoveryGroupManager.AddGroup(g)
			known[group] = true
		}
		for group := range known {
			if versions[group] == nil {
				core.DiscoveryGroupManager.RemoveGroup(group)
				delete(known, group)
			}
		}
	}
	// The handlers run on the informer's single goroutine, so sync is serialised.
	informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { sync() },
		UpdateFunc: func(interface{}, interface{}) { sync() },
		DeleteFunc: func(interface{}) { sync() },
	})
}

type serviceResolver struct{ services corelisters.ServiceLister }

func (r *serviceResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return proxy.ResolveCluster(r.services, namespace, name, port)
}

// createDefaultNamespaces runs as a post-start hook, so /readyz only turns
// green once the namespaces exist.
func createDefaultNamespaces(ctx genericapiserver.PostStartHookContext, client kubernetes.Interface) error {
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(c context.Context) (bool, error) {
			_, err := client.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			klog.V(2).Infof("creating namespace %s: %v", name, err)
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
