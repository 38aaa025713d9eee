from __future__ import annotations

from jobs.tasks import job_task

analyze_song_task = job_task("musicvideo.analyze_song", run="musicvideo.services.song_analysis_run")
write_storyboard_task = job_task("musicvideo.write_storyboard", run="musicvideo.services.storyboard_write_run")
render_video_task = job_task("musicvideo.render_video", run="musicvideo.render_services.music_video_render_run")
