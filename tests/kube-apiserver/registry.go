// registry.go owns the storage of the built-in resources: one generic
// registry.Store per resource with a reflection-based strategy, plus the
// /status and /scale subresources. There is no defaulting and no validation
// beyond ObjectMeta (the real strategies live in k8s.io/kubernetes).
package main

import (
	"context"
	"fmt"
	"reflect"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// resourceDef describes one served resource.
type resourceDef struct {
	gv             schema.GroupVersion
	resource       string
	singular       string
	kind           string
	namespaced     bool
	status         bool // has a /status subresource (status kept on main updates)
	scale          bool // has a /scale subresource (autoscaling/v1 Scale)
	shortNames     []string
	categories     []string
	createOnUpdate bool
}

// ---- strategy ---------------------------------------------------------------

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	def *resourceDef
}

func (s *strategy) NamespaceScoped() bool                                             { return s.def.namespaced }
func (s *strategy) AllowCreateOnUpdate() bool                                         { return s.def.createOnUpdate }
func (s *strategy) AllowUnconditionalUpdate() bool                                    { return true }
func (s *strategy) Canonicalize(obj runtime.Object)                                   {}
func (s *strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }
func (s *strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// field returns the named top-level struct field of a typed object, or an
// invalid Value when the type has none.
func fieldOf(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

func objectMeta(obj runtime.Object) *metav1.ObjectMeta {
	f := fieldOf(obj, "ObjectMeta")
	if !f.IsValid() {
		return nil
	}
	return f.Addr().Interface().(*metav1.ObjectMeta)
}

func (s *strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	m := objectMeta(obj)
	if fieldOf(obj, "Spec").IsValid() {
		m.Generation = 1
	}
	if st := fieldOf(obj, "Status"); s.def.status && st.IsValid() {
		st.Set(reflect.Zero(st.Type()))
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status.Phase = corev1.PodPending
	case *corev1.Namespace:
		o.Status.Phase = corev1.NamespaceActive
	case *corev1.PersistentVolumeClaim:
		o.Status.Phase = corev1.ClaimPending
	case *corev1.PersistentVolume:
		o.Status.Phase = corev1.VolumePending
	}
}

func (s *strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if st := fieldOf(obj, "Status"); s.def.status && st.IsValid() {
		st.Set(fieldOf(old, "Status"))
	}
	newMeta, oldMeta := objectMeta(obj), objectMeta(old)
	if spec := fieldOf(obj, "Spec"); spec.IsValid() {
		newMeta.Generation = oldMeta.Generation
		if !reflect.DeepEqual(spec.Interface(), fieldOf(old, "Spec").Interface()) {
			newMeta.Generation = oldMeta.Generation + 1
		}
	}
}

func (s *strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	nameFn := apivalidation.NameIsDNSSubdomain
	if s.def.resource == "namespaces" {
		nameFn = apivalidation.ValidateNamespaceName
	}
	return apivalidation.ValidateObjectMeta(objectMeta(obj), s.def.namespaced, nameFn, field.NewPath("metadata"))
}

func (s *strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return apivalidation.ValidateObjectMetaUpdate(objectMeta(obj), objectMeta(old), field.NewPath("metadata"))
}

func (s *strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if !s.def.status {
		return nil
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.def.gv.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// statusStrategy keeps everything but .status from the stored object.
type statusStrategy struct{ *strategy }

func (s *statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if spec := fieldOf(obj, "Spec"); spec.IsValid() {
		spec.Set(fieldOf(old, "Spec"))
	}
	objectMeta(obj).Generation = objectMeta(old).Generation
}

func (s *statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.def.gv.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
	}
}

// ---- REST objects -----------------------------------------------------------

// mainREST is the main resource endpoint.
type mainREST struct {
	*genericregistry.Store
	def *resourceDef
}

func (r *mainREST) ShortNames() []string { return r.def.shortNames }
func (r *mainREST) Categories() []string { return r.def.categories }

// statusREST serves <resource>/status.
type statusREST struct{ store *genericregistry.Store }

func (r *statusREST) New() runtime.Object { return r.store.New() }
func (r *statusREST) Destroy()            {}
func (r *statusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}
func (r *statusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create the parent object.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}
func (r *statusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}
func (r *statusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// scaleREST serves <resource>/scale for types with .spec.replicas,
// .spec.selector and .status.replicas (Deployment, ReplicaSet).
type scaleREST struct{ store *genericregistry.Store }

func (r *scaleREST) New() runtime.Object { return &autoscalingv1.Scale{} }
func (r *scaleREST) Destroy()            {}
func (r *scaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
}

func toScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	m := objectMeta(obj)
	spec, status := fieldOf(obj, "Spec"), fieldOf(obj, "Status")
	replicas := int32(1)
	if p := spec.FieldByName("Replicas").Interface().(*int32); p != nil {
		replicas = *p
	}
	selector := ""
	if ls := spec.FieldByName("Selector").Interface().(*metav1.LabelSelector); ls != nil {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return nil, err
		}
		selector = sel.String()
	}
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: int32(status.FieldByName("Replicas").Int()), Selector: selector},
	}, nil
}

func (r *scaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return toScale(obj)
}

func (r *scaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	obj, _, err := r.store.Update(ctx, name, &scaleUpdatedObjectInfo{name: name, inner: objInfo, gr: r.store.DefaultQualifiedResource},
		nil, nil, false, options)
	if err != nil {
		return nil, false, err
	}
	s, err := toScale(obj)
	return s, false, err
}

type scaleUpdatedObjectInfo struct {
	name  string
	inner rest.UpdatedObjectInfo
	gr    schema.GroupResource
}

func (i *scaleUpdatedObjectInfo) Preconditions() *metav1.Preconditions {
	return i.inner.Preconditions()
}

func (i *scaleUpdatedObjectInfo) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	if oldObj == nil {
		return nil, apierrors.NewNotFound(i.gr, i.name)
	}
	oldScale, err := toScale(oldObj)
	if err != nil {
		return nil, err
	}
	newScaleObj, err := i.inner.UpdatedObject(ctx, oldScale)
	if err != nil {
		return nil, err
	}
	newScale, ok := newScaleObj.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected Scale, got %T", newScaleObj))
	}
	if newScale.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), i.name,
			field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), newScale.Spec.Replicas, "must be greater than or equal to 0")})
	}
	obj := oldObj.DeepCopyObject()
	replicas := newScale.Spec.Replicas
	fieldOf(obj, "Spec").FieldByName("Replicas").Set(reflect.ValueOf(&replicas))
	if newScale.ResourceVersion != "" {
		// A stale Scale resourceVersion must fail with 409 like on the parent.
		objectMeta(obj).ResourceVersion = newScale.ResourceVersion
	}
	return obj, nil
}

// ---- construction -----------------------------------------------------------

// newStorage builds the storage map entries (resource, resource/status,
// resource/scale) for one definition.
func newStorage(def *resourceDef, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	gvk := def.gv.WithKind(def.kind)
	if _, err := Scheme.New(gvk); err != nil {
		return nil, err
	}
	listGVK := def.gv.WithKind(def.kind + "List")
	gr := schema.GroupResource{Group: def.gv.Group, Resource: def.resource}
	s := &strategy{ObjectTyper: Scheme, NameGenerator: names.SimpleNameGenerator, def: def}
	store := &genericregistry.Store{
		NewFunc: func() runtime.Object { o, _ := Scheme.New(gvk); return o },
		NewListFunc: func() runtime.Object {
			o, _ := Scheme.New(listGVK)
			return o
		},
		DefaultQualifiedResource:  gr,
		SingularQualifiedResource: schema.GroupResource{Group: def.gv.Group, Resource: def.singular},
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            rest.NewDefaultTableConvertor(gr),
	}
	attr := storage.DefaultClusterScopedAttr
	if def.namespaced {
		attr = storage.DefaultNamespaceScopedAttr
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: attr}); err != nil {
		return nil, fmt.Errorf("%s: %w", gr, err)
	}
	out := map[string]rest.Storage{def.resource: &mainREST{Store: store, def: def}}
	if def.status {
		ss := &statusStrategy{s}
		st := *store
		st.UpdateStrategy = ss
		st.ResetFieldsStrategy = ss
		out[def.resource+"/status"] = &statusREST{store: &st}
	}
	if def.scale {
		out[def.resource+"/scale"] = &scaleREST{store: store}
	}
	return out, nil
}
