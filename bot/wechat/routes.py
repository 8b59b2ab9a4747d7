"""WeChat official-account bridge routes (placeholder until the bridge lands)."""

from fastapi import APIRouter

router = APIRouter()
