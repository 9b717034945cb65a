"""Topics the ai and external components derive from raw data.

Where production used two names for one processed topic, the name its API
pre-created or its code produced is canonical and the other is an alias.
Retention is production's where its API pre-created the topic under either
name, else seven days.
"""

from __future__ import annotations

from loomlite.contract.catalog import TopicKind, TopicSpec
from loomlite.contract.models import (
    AudioEmotion,
    AudioEnvironment,
    FaceEmotions,
    GazeDetection,
    ImageEmbedding,
    OcrResult,
    ParsedDocument,
    PoseDetection,
    PreprocessedImage,
    ReasoningResult,
    SpatialMap,
    TextEmbedding,
    Transcription,
    UrlContent,
    VisionAnnotation,
    VoiceSegment,
)
from loomlite.contract.topics._build import NO_STAGE_YET, WEEK, days, table

__all__ = ["DERIVED_TOPICS"]

DERIVED = TopicKind.DERIVED

_AUDIO = [
    TopicSpec(
        name="media.audio.vad_filtered",
        kind=DERIVED,
        description=(
            "Speech segments that the vad stage cut from device.audio.raw, as "
            "16-bit mono PCM. 'media.audio.voice_segments' is an alias."
        ),
        models={1: VoiceSegment},
        aliases=("media.audio.voice_segments",),
        retention=days(7),
        table=table(
            "media_audio_vad_filtered", "source_message_id", "segment_start_ms"
        ),
    ),
    TopicSpec(
        name="media.text.transcribed.words",
        kind=DERIVED,
        description=(
            "Transcripts with word timings that the stt stage made from "
            "media.audio.vad_filtered. 'media.text.word_timestamps' is an alias."
        ),
        models={1: Transcription},
        aliases=("media.text.word_timestamps",),
        retention=days(15),
        table=table("media_text_transcribed_words", "source_message_id"),
    ),
    TopicSpec(
        name="analysis.audio.emotion_scores",
        kind=DERIVED,
        description=(
            "Voice emotion per speech segment, from the emotion stage. "
            "'analysis.audio.emotion_results' is an alias."
        ),
        models={1: AudioEmotion},
        aliases=("analysis.audio.emotion_results",),
        retention=days(30),
        table=table("analysis_audio_emotion_scores_raw", "source_message_id"),
    ),
    TopicSpec(
        name="media.audio.environment_classified",
        kind=DERIVED,
        description="Acoustic environment per speech segment (indoor, vehicle, ...).",
        models={1: AudioEnvironment},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
]

_VISION = [
    TopicSpec(
        name="media.image.analysis.moondream_results",
        kind=DERIVED,
        description=(
            "Text that the ocr stage read from screenshots, screen video and "
            "post screenshots, whatever the backend. The name is production's "
            "OCR output topic; 'media.text.ocr_extracted' and "
            "'media.text.ocr_cleaned' (registry only) are aliases."
        ),
        models={1: OcrResult},
        aliases=("media.text.ocr_extracted", "media.text.ocr_cleaned"),
        retention=days(15),
        table=table("media_image_analysis_moondream_results", "source_message_id"),
    ),
    TopicSpec(
        name="media.image.vision_annotations",
        kind=DERIVED,
        description=(
            "Image captions and detected objects from the caption stage. "
            "'media.image.analysis.minicpm_results' (compose override) is an "
            "alias, and so are the object topics 'media.image.objects_detected', "
            "'media.image.objects_hashed' and 'media.video.analysis.yolo_results' "
            "(registry only), whose data the 'objects' list holds."
        ),
        models={1: VisionAnnotation},
        aliases=(
            "media.image.analysis.minicpm_results",
            "media.image.objects_detected",
            "media.image.objects_hashed",
            "media.video.analysis.yolo_results",
        ),
        retention=days(15),
        table=table("media_image_vision_annotations_raw", "source_message_id"),
    ),
    TopicSpec(
        name="analysis.image.face_emotions",
        kind=DERIVED,
        description=(
            "Faces and their emotions per image, from the face_detection "
            "stage. 'analysis.image.emotion_results' (compose override) and "
            "'media.image.faces_detected' (registry only) are aliases."
        ),
        models={1: FaceEmotions},
        aliases=("analysis.image.emotion_results", "media.image.faces_detected"),
        retention=days(30),
        table=table("analysis_image_face_emotions_raw", "source_message_id"),
    ),
    TopicSpec(
        name="media.image.camera.preprocessed",
        kind=DERIVED,
        description=(
            "Resized, blur-checked camera photos and screenshots; "
            "'media.image.screenshot.preprocessed' is an alias."
        ),
        models={1: PreprocessedImage},
        aliases=("media.image.screenshot.preprocessed",),
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="media.image.pose_detected",
        kind=DERIVED,
        description="Body poses per image.",
        models={1: PoseDetection},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="media.image.gaze_detected",
        kind=DERIVED,
        description="Gaze directions per image.",
        models={1: GazeDetection},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="spatial.slam.mapping",
        kind=DERIVED,
        description=(
            "3D reconstructions from camera images; "
            "'analysis.3d_reconstruction.dustr_results' is an alias."
        ),
        models={1: SpatialMap},
        aliases=("analysis.3d_reconstruction.dustr_results",),
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="embeddings.image.nomic",
        kind=DERIVED,
        description="Image embeddings.",
        models={1: ImageEmbedding},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
]

# (source, aliases, table, what is embedded); every embedding topic shares
# the TextEmbedding model but has its own table.
_EMBEDDED_SOURCES: list[tuple[str, tuple[str, ...], str, str]] = [
    (
        "emails",
        ("external.email.embedded",),
        "emails_with_embeddings",
        "emails from external.email.events.raw",
    ),
    (
        "twitter",
        (),
        "twitter_likes_with_embeddings",
        "liked posts from external.twitter.liked.raw",
    ),
    (
        "notes",
        (),
        "analysis_text_embedded_notes",
        "notes from digital.notes.raw",
    ),
    (
        "transcripts",
        (),
        "analysis_text_embedded_transcripts",
        "transcripts from media.text.transcribed.words",
    ),
    (
        "calendar",
        ("external.calendar.embedded",),
        "analysis_text_embedded_calendar",
        "events from external.calendar.events.raw",
    ),
    (
        "hackernews",
        ("external.hackernews.embedded",),
        "analysis_text_embedded_hackernews",
        "stories from external.hackernews.activity.raw",
    ),
    (
        "notifications",
        (),
        "analysis_text_embedded_notifications",
        "notifications from os.events.notifications.raw",
    ),
    (
        "content",
        ("embeddings.text.nomic",),
        "analysis_text_embedded_content",
        (
            "text fetched from URLs and extracted from documents (production's "
            "'embeddings.text.nomic' mixed these with notes and transcripts; "
            "loomlite keeps one topic per source)"
        ),
    ),
]

_EMBEDDINGS = [
    TopicSpec(
        name=f"analysis.text.embedded.{source}",
        kind=DERIVED,
        description=f"Text embeddings of {embedded}, from the embedding stage.",
        models={1: TextEmbedding},
        aliases=aliases,
        retention=WEEK,
        table=table(table_name, "source_message_id", "model"),
    )
    for source, aliases, table_name, embedded in _EMBEDDED_SOURCES
]

_TEXT = [
    TopicSpec(
        name="analysis.context.reasoning_chains",
        kind=DERIVED,
        description=(
            "A language model's conclusions about the user's context. "
            "'analysis.inferred_context.mistral_results', "
            "'analysis.inferred_context.qwen_results' and "
            "'analysis.multimodal.gemma3n_results' are aliases: each held a "
            "language model's analysis of recent data."
        ),
        models={1: ReasoningResult},
        aliases=(
            "analysis.inferred_context.mistral_results",
            "analysis.inferred_context.qwen_results",
            "analysis.multimodal.gemma3n_results",
        ),
        retention=days(90),
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="task.url.processed.content",
        kind=DERIVED,
        description=(
            "Content that the url_processing stage fetched for task.url.ingest "
            "requests, except posts on X and Hacker News stories, which have "
            "topics of their own. "
            "'task.url.processed_content' (pre-created by production's API, "
            "180 days) and 'task.url.processed.pdf_extracted' are aliases."
        ),
        models={1: UrlContent},
        aliases=("task.url.processed_content", "task.url.processed.pdf_extracted"),
        retention=days(180),
        table=table("task_url_processed_content_raw", "url"),
    ),
    TopicSpec(
        name="task.url.processed.twitter_archived",
        kind=DERIVED,
        description="Archived posts on X fetched by the url_processing stage.",
        models={1: UrlContent},
        retention=WEEK,
        table=table("twitter_extraction_results", "url"),
    ),
    TopicSpec(
        name="task.url.processed.hackernews_archived",
        kind=DERIVED,
        description=(
            "Archived Hacker News stories fetched by the url_processing "
            "stage; 'external.hackernews.content_fetched' is an alias."
        ),
        models={1: UrlContent},
        aliases=("external.hackernews.content_fetched",),
        retention=WEEK,
        table=table("task_url_processed_hackernews_archived", "url"),
    ),
    TopicSpec(
        name="processed.document.parsed",
        kind=DERIVED,
        description=(
            "Text extracted from task.document.ingest documents by the "
            "document_parse stage; 'task.document.processed.content' is an alias."
        ),
        models={1: ParsedDocument},
        aliases=("task.document.processed.content",),
        retention=WEEK,
        table=table("processed_document_parsed", "source_message_id"),
    ),
    TopicSpec(
        name="processed.github.parsed",
        kind=DERIVED,
        description=(
            "Text extracted from task.github.ingest repositories by the "
            "document_parse stage; 'task.github.processed.content' is an alias."
        ),
        models={1: ParsedDocument},
        aliases=("task.github.processed.content",),
        retention=WEEK,
        table=table("processed_github_parsed", "source_message_id"),
    ),
]

DERIVED_TOPICS: list[TopicSpec] = [*_AUDIO, *_VISION, *_EMBEDDINGS, *_TEXT]
