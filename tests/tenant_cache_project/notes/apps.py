from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "tests.tenant_cache_project.notes"
    label = "notes"

    def ready(self) -> None:
        import tenant_cache

        from .models import Note

        tenant_cache.watch(Note, "notes")
        tenant_cache.registry.register(NOTE_COUNT)


def _note_count() -> dict[str, int]:
    from .models import Note

    return {"notes": Note.objects.count(), "pinned": Note.objects.filter(pinned=True).count()}


def _entry():  # type: ignore[no-untyped-def]
    import tenant_cache

    return tenant_cache.CacheEntry(
        namespace="notes",
        name="count",
        depends_on=frozenset({"notes"}),
        fields={"notes": frozenset({"pinned"})},  # a text-only edit changes no count
        fetch=_note_count,
    )


NOTE_COUNT = _entry()
